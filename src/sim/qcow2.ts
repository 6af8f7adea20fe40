import fs from 'node:fs';

// The virtual size of Ubuntu 24.04's cloud image (noble-server-cloudimg-amd64.img).
export const CLOUD_IMAGE_VIRTUAL_SIZE = 2252 * 1024 * 1024;

const MAGIC = 0x514649fb; // 'QFI\xfb'
const VERSION = 3;
const CLUSTER_BITS = 16;
const CLUSTER_SIZE = 1 << CLUSTER_BITS;
const HEADER_LENGTH = 104;
// 16-bit refcounts, as qemu-img creates them.
const REFCOUNT_ORDER = 4;
// Layout as `qemu-img create -f qcow2` makes it: header, refcount table, refcount block, L1 table.
const REFCOUNT_TABLE_CLUSTER = 1;
const REFCOUNT_BLOCK_CLUSTER = 2;
const L1_TABLE_CLUSTER = 3;

export interface Qcow2Header {
  version: number;
  clusterBits: number;
  virtualSize: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  headerLength: number;
}

// An empty (all unallocated) qcow2 v3 image that `qemu-img check` accepts: every metadata
// cluster has refcount 1, and the L1 table covers the whole virtual size.
export function qcow2Image(virtualSize: number): Buffer {
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0 || virtualSize % 512 !== 0) {
    throw new TypeError(`qcow2 virtual size must be a positive multiple of 512 bytes, got ${virtualSize}`);
  }
  const bytesPerL2Table = (CLUSTER_SIZE / 8) * CLUSTER_SIZE;
  const l1Size = Math.ceil(virtualSize / bytesPerL2Table);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / CLUSTER_SIZE));
  const clusters = L1_TABLE_CLUSTER + l1Clusters;
  const image = Buffer.alloc(clusters * CLUSTER_SIZE);

  image.writeUInt32BE(MAGIC, 0);
  image.writeUInt32BE(VERSION, 4);
  // backing_file_offset (8) and backing_file_size (16) stay 0: no backing file.
  image.writeUInt32BE(CLUSTER_BITS, 20);
  image.writeBigUInt64BE(BigInt(virtualSize), 24);
  // crypt_method (32) stays 0.
  image.writeUInt32BE(l1Size, 36);
  image.writeBigUInt64BE(BigInt(L1_TABLE_CLUSTER * CLUSTER_SIZE), 40);
  image.writeBigUInt64BE(BigInt(REFCOUNT_TABLE_CLUSTER * CLUSTER_SIZE), 48);
  image.writeUInt32BE(1, 56);
  // nb_snapshots (60), snapshots_offset (64), the feature bitmaps (72-95) stay 0.
  image.writeUInt32BE(REFCOUNT_ORDER, 96);
  image.writeUInt32BE(HEADER_LENGTH, 100);
  // The header extension list ends at once: its end marker (type 0, length 0) is zeros.

  image.writeBigUInt64BE(BigInt(REFCOUNT_BLOCK_CLUSTER * CLUSTER_SIZE), REFCOUNT_TABLE_CLUSTER * CLUSTER_SIZE);
  for (let cluster = 0; cluster < clusters; cluster += 1) {
    image.writeUInt16BE(1, REFCOUNT_BLOCK_CLUSTER * CLUSTER_SIZE + cluster * 2);
  }
  return image;
}

export function writeQcow2(file: string, virtualSize: number = CLOUD_IMAGE_VIRTUAL_SIZE): void {
  fs.writeFileSync(file, qcow2Image(virtualSize));
}

export function parseQcow2Header(data: Buffer): Qcow2Header {
  if (data.length < 72 || data.readUInt32BE(0) !== MAGIC) throw new TypeError('not a qcow2 image (no QFI\\xfb magic)');
  const version = data.readUInt32BE(4);
  return {
    version,
    clusterBits: data.readUInt32BE(20),
    virtualSize: Number(data.readBigUInt64BE(24)),
    l1Size: data.readUInt32BE(36),
    l1TableOffset: Number(data.readBigUInt64BE(40)),
    refcountTableOffset: Number(data.readBigUInt64BE(48)),
    refcountTableClusters: data.readUInt32BE(56),
    // Version 2 headers end at 72 with fixed 16-bit refcounts.
    refcountOrder: version >= 3 ? data.readUInt32BE(96) : 4,
    headerLength: version >= 3 ? data.readUInt32BE(100) : 72,
  };
}
