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
const OFLAG_COPIED = 1n << 63n;
// Host cluster offset bits of an L1/L2 entry (qcow2 spec: bits 9-55).
const OFFSET_MASK = 0x00fffffffffffe00n;

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

// A qcow2 v3 image that `qemu-img check` accepts: every cluster has refcount 1, the L1 table
// covers the whole virtual size, and only the first guest cluster holds data (`data`, if given;
// otherwise nothing is allocated).
export function qcow2Image(virtualSize: number, data?: Buffer): Buffer {
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0 || virtualSize % 512 !== 0) {
    throw new TypeError(`qcow2 virtual size must be a positive multiple of 512 bytes, got ${virtualSize}`);
  }
  const bytesPerL2Table = (CLUSTER_SIZE / 8) * CLUSTER_SIZE;
  const l1Size = Math.ceil(virtualSize / bytesPerL2Table);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / CLUSTER_SIZE));
  if (data !== undefined && data.length > CLUSTER_SIZE) throw new TypeError(`qcow2 data must fit one ${CLUSTER_SIZE}-byte cluster`);
  const l2Cluster = L1_TABLE_CLUSTER + l1Clusters;
  const clusters = l2Cluster + (data === undefined ? 0 : 2);
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
  if (data !== undefined) {
    // L1[0] → the L2 table, L2[0] → the data cluster; both with refcount 1, so QCOW_OFLAG_COPIED.
    image.writeBigUInt64BE(BigInt(l2Cluster * CLUSTER_SIZE) | OFLAG_COPIED, L1_TABLE_CLUSTER * CLUSTER_SIZE);
    image.writeBigUInt64BE(BigInt((l2Cluster + 1) * CLUSTER_SIZE) | OFLAG_COPIED, l2Cluster * CLUSTER_SIZE);
    data.copy(image, (l2Cluster + 1) * CLUSTER_SIZE);
  }
  return image;
}

// The first guest cluster's bytes (all zeros when it is unallocated), read through L1[0] and L2[0].
export function readQcow2FirstCluster(image: Buffer): Buffer {
  const header = parseQcow2Header(image);
  const size = 1 << header.clusterBits;
  const zero = Buffer.alloc(size);
  const pointer = (offset: number) => (offset + 8 <= image.length ? Number(image.readBigUInt64BE(offset) & OFFSET_MASK) : 0);
  const l2 = pointer(header.l1TableOffset);
  const cluster = l2 === 0 ? 0 : pointer(l2);
  return cluster === 0 || cluster + size > image.length ? zero : image.subarray(cluster, cluster + size);
}

export function writeQcow2(file: string, virtualSize: number = CLOUD_IMAGE_VIRTUAL_SIZE, data?: Buffer): void {
  fs.writeFileSync(file, qcow2Image(virtualSize, data));
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
