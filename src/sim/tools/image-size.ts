import fs from 'node:fs';
import { decodeGuestImage, type GuestImage } from '../guest-image.js';
import { readQcow2FirstCluster } from '../qcow2.js';

// What the simulated import reads of an image: the first MiB holds a qcow2's header, tables and
// (for the images the image server makes) its first data cluster.
const HEAD_BYTES = 1024 * 1024;

// `file_size_info` for an image to import: a qcow2 header's virtual size (bytes 24-31, big
// endian), otherwise the raw file's size; and the guest the image holds, if it holds one.
// Undefined if the file is missing or not a regular file.
export function imageInfo(file: string): { size: number; format: 'qcow2' | 'raw'; guest?: GuestImage } | undefined {
  let fd: number;
  try {
    if (!fs.statSync(file).isFile()) return undefined;
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const read = fs.readSync(fd, head, 0, HEAD_BYTES, 0);
    const bytes = head.subarray(0, read);
    if (read >= 32 && bytes.readUInt32BE(0) === 0x514649fb) {
      const guest = read >= 104 ? decodeGuestImage(readQcow2FirstCluster(bytes)) : undefined;
      return { size: Number(bytes.readBigUInt64BE(24)), format: 'qcow2', ...(guest ? { guest } : {}) };
    }
    const guest = decodeGuestImage(bytes);
    return { size: fs.fstatSync(fd).size, format: 'raw', ...(guest ? { guest } : {}) };
  } finally {
    fs.closeSync(fd);
  }
}
