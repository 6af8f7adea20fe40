import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOUD_IMAGE_VIRTUAL_SIZE, parseQcow2Header, qcow2Image, writeQcow2 } from '../../../src/sim/qcow2.js';

const CLUSTER = 65536;

describe('qcow2Image', () => {
  const image = qcow2Image(CLOUD_IMAGE_VIRTUAL_SIZE);

  it('writes a qcow2 v3 header with 64 KiB clusters and the virtual size big-endian at offset 24', () => {
    expect(image.subarray(0, 4)).toEqual(Buffer.from([0x51, 0x46, 0x49, 0xfb]));
    expect(image.readUInt32BE(4)).toBe(3);
    expect(image.readBigUInt64BE(8)).toBe(0n); // no backing file
    expect(image.readUInt32BE(20)).toBe(16);
    expect(image.subarray(24, 32)).toEqual(Buffer.from([0, 0, 0, 0, 0x8c, 0xc0, 0, 0]));
    expect(image.readUInt32BE(32)).toBe(0); // not encrypted
    expect(image.readUInt32BE(96)).toBe(4); // 16-bit refcounts
    expect(image.readUInt32BE(100)).toBe(104);
    expect(image.readBigUInt64BE(104)).toBe(0n); // end of header extensions
  });

  it('defaults to the virtual size of the Ubuntu 24.04 cloud image, 2252 MiB', () => {
    expect(CLOUD_IMAGE_VIRTUAL_SIZE).toBe(2361393152);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-qcow2-'));
    try {
      writeQcow2(path.join(dir, 'disk.qcow2'));
      expect(parseQcow2Header(fs.readFileSync(path.join(dir, 'disk.qcow2')))).toMatchObject({ version: 3, virtualSize: 2361393152 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lays out an L1 table covering the disk and refcounts for every metadata cluster', () => {
    const header = parseQcow2Header(image);
    // One L2 table maps 8192 clusters of 64 KiB = 512 MiB: 2252 MiB needs 5 L1 entries.
    expect(header).toEqual({
      version: 3,
      clusterBits: 16,
      virtualSize: CLOUD_IMAGE_VIRTUAL_SIZE,
      l1Size: 5,
      l1TableOffset: 3 * CLUSTER,
      refcountTableOffset: CLUSTER,
      refcountTableClusters: 1,
      refcountOrder: 4,
      headerLength: 104,
    });
    expect(image.length).toBe(4 * CLUSTER);
    expect(image.readBigUInt64BE(CLUSTER)).toBe(BigInt(2 * CLUSTER)); // refcount table -> block
    expect(image.readBigUInt64BE(CLUSTER + 8)).toBe(0n);
    const refcounts = Array.from({ length: 6 }, (_, cluster) => image.readUInt16BE(2 * CLUSTER + cluster * 2));
    expect(refcounts).toEqual([1, 1, 1, 1, 0, 0]);
    const l1 = Array.from({ length: 5 }, (_, entry) => image.readBigUInt64BE(3 * CLUSTER + entry * 8));
    expect(l1).toEqual([0n, 0n, 0n, 0n, 0n]); // nothing allocated: reads as zeros
  });

  it('grows the L1 table with the virtual size', () => {
    expect(parseQcow2Header(qcow2Image(512 * 1024 ** 2)).l1Size).toBe(1);
    expect(parseQcow2Header(qcow2Image(512 * 1024 ** 2 + 512)).l1Size).toBe(2);
    const big = qcow2Image(5 * 1024 ** 4);
    expect(parseQcow2Header(big).l1Size).toBe(10240);
    expect(big.length).toBe(5 * CLUSTER);
  });

  it('rejects sizes qemu-img would not create', () => {
    expect(() => qcow2Image(0)).toThrow(TypeError);
    expect(() => qcow2Image(1000)).toThrow(/multiple of 512/);
  });

  it('refuses to parse a file without the magic', () => {
    expect(() => parseQcow2Header(Buffer.alloc(512))).toThrow(/not a qcow2 image/);
  });
});
