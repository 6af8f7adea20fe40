import fs from 'node:fs';

// `file_size_info` for an image to import: a qcow2 header's virtual size (bytes 24-31, big
// endian), otherwise the raw file's size. Undefined if the file is missing or not a regular file.
export function imageInfo(file: string): { size: number; format: 'qcow2' | 'raw' } | undefined {
  let fd: number;
  try {
    if (!fs.statSync(file).isFile()) return undefined;
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = Buffer.alloc(32);
    const read = fs.readSync(fd, header, 0, 32, 0);
    if (read >= 32 && header.readUInt32BE(0) === 0x514649fb) {
      return { size: Number(header.readBigUInt64BE(24)), format: 'qcow2' };
    }
    return { size: fs.fstatSync(fd).size, format: 'raw' };
  } finally {
    fs.closeSync(fd);
  }
}
