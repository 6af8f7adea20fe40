import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { guestImageSchema, type GuestImage } from '../guest-image.js';
import type { SimPaths } from '../paths.js';
import type { ToolContext } from './context.js';
import { writeFileAtomic } from './context.js';
import { PveDie } from './die.js';
import { withFileLock } from './file-lock.js';
import { renderBytes } from './format-size.js';
import { activateStorage, isFileStorage, isIscsiStorage, storageConfig, storageDir, type StorageConfig } from './storage-config.js';

// One allocated volume: sim/volumes/<storage>/<volname, URI-encoded>.json.
export const volumeSchema = z
  .object({
    volid: z.string(),
    storage: z.string(),
    volname: z.string(),
    vmid: z.number().int(),
    size: z.number().int().nonnegative(),
    format: z.enum(['raw', 'qcow2']),
    // The node that allocated it: a storage that is not shared is a separate pool on every node.
    node: z.string().optional(),
    // The guest system the volume holds (imported from an image, or cloned from such a volume).
    guest: guestImageSchema.optional(),
  })
  .strict();
export type VolumeRecord = z.infer<typeof volumeSchema>;

const GiB = 1024 ** 3;
const EXTENT = 4 * 1024 * 1024;

export function parseVolid(volid: string): { storage: string; volname: string } | undefined {
  const match = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  return match ? { storage: match[1] as string, volname: match[2] as string } : undefined;
}

function recordFile(paths: SimPaths, storage: string, volname: string): string {
  return path.join(paths.volumesDir, storage, `${encodeURIComponent(volname)}.json`);
}

export function listVolumes(paths: SimPaths): VolumeRecord[] {
  const out: VolumeRecord[] = [];
  if (!fs.existsSync(paths.volumesDir)) return out;
  // Storage directories, never the per-storage lock files beside them, which come and go while
  // a call holds them (a stat of one could find it gone).
  const storages = fs.readdirSync(paths.volumesDir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  for (const storage of storages.map((entry) => entry.name).sort()) {
    const dir = path.join(paths.volumesDir, storage);
    for (const file of fs.readdirSync(dir).sort()) {
      if (!file.endsWith('.json')) continue;
      try {
        out.push(volumeSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))));
      } catch {
        // A record removed while we listed it.
      }
    }
  }
  return out;
}

export function findVolume(paths: SimPaths, volid: string): VolumeRecord | undefined {
  const parsed = parseVolid(volid);
  if (!parsed) return undefined;
  try {
    return volumeSchema.parse(JSON.parse(fs.readFileSync(recordFile(paths, parsed.storage, parsed.volname), 'utf8')));
  } catch {
    return undefined;
  }
}

export function storageCapacity(ctx: ToolContext, storage: string): number {
  return ctx.settings.storageCapacity[storage] ?? 100 * GiB;
}

// Used space of <storage> as <node> sees it: a local storage counts only that node's volumes.
export function storageUsed(paths: SimPaths, storage: StorageConfig, node: string): number {
  return listVolumes(paths)
    .filter((volume) => volume.storage === storage.id && (storage.shared || volume.node === undefined || volume.node === node))
    .reduce((sum, volume) => sum + volume.size, 0);
}

// The path a real host would show for a volume (`pvesm path`).
export function shownVolumePath(storage: StorageConfig, volname: string): string {
  if (isFileStorage(storage)) return path.posix.join(storage.props.path ?? `/mnt/pve/${storage.id}`, 'images', volname);
  return `/dev/${storage.props.vgname ?? storage.id}/${volname}`;
}

function volumeName(storage: StorageConfig, vmid: number, name: string, format: string): string {
  return isFileStorage(storage) ? `${vmid}/${name}.${format}` : name;
}

// get_next_vm_diskname: the lowest free vm-<vmid>-disk-<N> on the storage.
function nextDiskName(paths: SimPaths, storage: StorageConfig, vmid: number, format: string): string {
  for (let n = 0; ; n += 1) {
    const name = `vm-${vmid}-disk-${n}`;
    if (!fs.existsSync(recordFile(paths, storage.id, volumeName(storage, vmid, name, format)))) return name;
  }
}

function storageLock(ctx: ToolContext, storage: string) {
  return {
    timeoutMs: 60_000,
    shownPath: `/var/lock/pve-manager/pve-storage-${storage}`,
    err: ctx.err,
  };
}

function full(ctx: ToolContext, storage: StorageConfig, size: number): boolean {
  if (ctx.faults.storageFull?.includes(storage.id)) return true;
  return storageUsed(ctx.paths, storage, ctx.node) + size > storageCapacity(ctx, storage.id);
}

function noSpace(storage: StorageConfig, volname: string, shown: string): PveDie {
  if (storage.type === 'lvmthin') {
    const pool = `${storage.props.vgname ?? 'pve'}/${storage.props.thinpool ?? 'data'}`;
    return new PveDie(`lvcreate '${storage.props.vgname ?? 'pve'}/${volname}' error:   Cannot create new thin volume, free space in thin pool ${pool} reached threshold.`);
  }
  return new PveDie(`unable to create image: qemu-img: ${shown}: Could not create '${shown}': No space left on device`);
}

// vdisk_alloc: allocate a volume (the storage tool's own output goes to stdout, as on a real host).
export async function allocVolume(
  ctx: ToolContext,
  storageId: string,
  vmid: number,
  size: number,
  options: { name?: string; format?: 'raw' | 'qcow2'; guest?: GuestImage } = {},
): Promise<VolumeRecord> {
  const storage = storageConfig(ctx.paths, storageId);
  activateStorage(ctx.faults, storage);
  if (isIscsiStorage(storage)) throw new PveDie("can't allocate space in iscsi storage");
  const format = isFileStorage(storage) ? (options.format ?? 'raw') : 'raw';
  fs.mkdirSync(path.join(ctx.paths.volumesDir, storage.id), { recursive: true });
  return withFileLock(path.join(ctx.paths.volumesDir, `${storage.id}.lock`), storageLock(ctx, storage.id), () => {
    const name = options.name ?? nextDiskName(ctx.paths, storage, vmid, format);
    const volname = volumeName(storage, vmid, name, format);
    const shown = shownVolumePath(storage, volname);
    const file = recordFile(ctx.paths, storage.id, volname);
    if (fs.existsSync(file)) {
      if (storage.type === 'lvmthin') {
        const vg = storage.props.vgname ?? 'pve';
        throw new PveDie(`lvcreate '${vg}/${name}' error:   Logical Volume "${name}" already exists in volume group "${vg}"`);
      }
      throw new PveDie(`disk image '${shown}' already exists`);
    }
    if (full(ctx, storage, size)) throw noSpace(storage, name, shown);
    if (isFileStorage(storage)) {
      const real = path.join(storageDir(ctx.paths, storage), 'images', volname);
      fs.mkdirSync(path.dirname(real), { recursive: true });
      fs.writeFileSync(real, '');
      fs.truncateSync(real, format === 'raw' ? size : 0);
      ctx.out(`Formatting '${shown}', fmt=${format} size=${size}\n`);
    } else if (storage.type === 'lvmthin' || storage.type === 'lvm') {
      ctx.out(`  Logical volume "${name}" created.\n`);
    }
    const record: VolumeRecord = { volid: `${storage.id}:${volname}`, storage: storage.id, volname, vmid, size, format, node: ctx.node, ...(options.guest ? { guest: options.guest } : {}) };
    writeFileAtomic(file, `${JSON.stringify(record)}\n`);
    return record;
  });
}

// vdisk_free.
export function freeVolume(ctx: ToolContext, volid: string): void {
  const record = findVolume(ctx.paths, volid);
  if (!record) return;
  let storage: StorageConfig | undefined;
  try {
    storage = storageConfig(ctx.paths, record.storage);
  } catch {
    storage = undefined;
  }
  if (storage && isFileStorage(storage)) {
    fs.rmSync(path.join(storageDir(ctx.paths, storage), 'images', record.volname), { force: true });
  } else if (storage && (storage.type === 'lvmthin' || storage.type === 'lvm')) {
    ctx.out(`  Logical volume "${record.volname}" successfully removed.\n`);
  }
  fs.rmSync(recordFile(ctx.paths, record.storage, record.volname), { force: true });
}

// volume_resize: lvextend on LVM, qemu-img resize on files (their texts are approximations).
export async function resizeVolume(ctx: ToolContext, volid: string, size: number): Promise<void> {
  const record = findVolume(ctx.paths, volid);
  if (!record) throw new PveDie(`Could not determine current size of volume '${volid}'`);
  const storage = storageConfig(ctx.paths, record.storage);
  await withFileLock(path.join(ctx.paths.volumesDir, `${storage.id}.lock`), storageLock(ctx, storage.id), () => {
    const grow = size - record.size;
    if (grow > 0 && full(ctx, storage, grow)) {
      if (storage.type === 'lvmthin' || storage.type === 'lvm') {
        const vg = storage.props.vgname ?? 'pve';
        throw new PveDie(`command '/sbin/lvextend -L${Math.ceil(size / 1024 ** 2)}m ${vg}/${record.volname}' failed: exit code 5`);
      }
      throw new PveDie(`command '/usr/bin/qemu-img resize -f ${record.format} ${shownVolumePath(storage, record.volname)} ${size}' failed: exit code 1`);
    }
    if (isFileStorage(storage)) {
      if (record.format === 'raw') fs.truncateSync(path.join(storageDir(ctx.paths, storage), 'images', record.volname), size);
      ctx.out('Image resized.\n');
    } else if (storage.type === 'lvmthin' || storage.type === 'lvm') {
      const vg = storage.props.vgname ?? 'pve';
      const extents = (bytes: number) => Math.ceil(bytes / EXTENT);
      // LVM2's display of a size, e.g. "2.20 GiB" (LVM texts are approximations, see docs/simulator.md).
      const lvmSize = (bytes: number) => renderBytes(bytes, 2);
      ctx.out(
        `  Size of logical volume ${vg}/${record.volname} changed from ${lvmSize(record.size)} (${extents(record.size)} extents) to ${lvmSize(size)} (${extents(size)} extents).\n` +
          `  Logical volume ${vg}/${record.volname} successfully resized.\n`,
      );
    }
    writeFileAtomic(recordFile(ctx.paths, record.storage, record.volname), `${JSON.stringify({ ...record, size })}\n`);
  });
}

// Seeding and tests write records without the storage tools' chatter.
export function writeVolumeRecord(paths: SimPaths, record: VolumeRecord): void {
  const file = recordFile(paths, record.storage, record.volname);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(record)}\n`);
}
