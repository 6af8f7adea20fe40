import path from 'node:path';
import { isDriveKey, type ConfigSection } from './config-format.js';
import { callerFile, type ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import { imageInfo } from './image-size.js';
import { createCrashPoint } from './create-crash.js';
import { reportImport } from './import-progress.js';
import { parseDrive, printDrive } from './property-string.js';
import { isFileStorage, storageConfig, storageDir } from './storage-config.js';
import { allocVolume, findVolume, parseVolid, shownVolumePath } from './volumes.js';

// API2/Qemu.pm `create_disks` and the checks before it, shared by `qm create` and `qm set`.
const NEW_DISK = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;
const GiB = 1024 ** 3;
const CLOUDINIT_SIZE = 4 * 1024 * 1024;

// valid_drive_names order (used for creation output and to pick boot disks).
export function driveKeysInOrder(keys: Iterable<string>): string[] {
  const rank = (key: string): number => {
    const match = /^([a-z]+)(\d+)$/.exec(key);
    const bus = ['ide', 'scsi', 'virtio', 'sata', 'efidisk', 'tpmstate'].indexOf(match?.[1] ?? '');
    return bus * 100 + Number(match?.[2] ?? 0);
  };
  return [...keys].filter(isDriveKey).sort((a, b) => rank(a) - rank(b));
}

function isCloudInitRequest(volid: string): boolean {
  return volid === 'cloudinit' || /^[^:]+:cloudinit$/.test(volid);
}

export function isCloudInitDrive(value: string): boolean {
  return /(^|[:/])vm-\d+-cloudinit(\.qcow2)?(,|$)/.test(value);
}

// `$check_storage_access` then `$check_drive_param`: direct dies and 400s before any worker.
export function checkDriveParams(ctx: ToolContext, params: Record<string, string>): void {
  for (const key of driveKeysInOrder(Object.keys(params))) {
    const drive = parseDrive(params[key] as string);
    const match = NEW_DISK.exec(drive.volid);
    if (isCloudInitRequest(drive.volid) || drive.volid === 'none' || drive.volid === 'cdrom') continue;
    if (match) {
      const storage = storageConfig(ctx.paths, match[2] ?? '');
      if (!storage.content.includes('images')) throw paramExc({ storage: `storage '${storage.id}' does not support vm images` });
    }
  }
  for (const key of Object.keys(params).sort()) {
    if (!isDriveKey(key)) continue;
    const drive = parseDrive(params[key] as string);
    if (drive.keys['import-from'] !== undefined) {
      const match = NEW_DISK.exec(drive.volid);
      if (!match || Number(match[3]) !== 0) {
        throw paramExc({ [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
      }
    }
  }
}

function sourcePath(ctx: ToolContext, source: string): string {
  const volid = parseVolid(source);
  if (!path.isAbsolute(source) && volid) {
    const storage = storageConfig(ctx.paths, volid.storage);
    return path.join(storageDir(ctx.paths, storage), volid.volname.replace(/^import\//, 'import/'));
  }
  return source;
}

export interface CreatedDisks {
  created: Record<string, string>;
  volids: string[];
}

// Allocates what each drive option asks for and prints `<ds>: successfully created disk '...'`.
// `result` is filled as volumes are allocated, so a caller can free them when a later step fails.
export async function createDisks(
  ctx: ToolContext,
  vmid: number,
  params: Record<string, string>,
  existing: ConfigSection,
  result: CreatedDisks = { created: {}, volids: [] },
): Promise<CreatedDisks> {
  for (const key of driveKeysInOrder(Object.keys(params))) {
    const drive = parseDrive(params[key] as string);
    const keys = { ...drive.keys };
    if (isCloudInitRequest(drive.volid)) {
      const storageId = drive.volid.split(':')[0] as string;
      const attached = Object.entries({ ...existing.values, ...result.created }).find(
        ([other, value]) => other !== key && isDriveKey(other) && isCloudInitDrive(value),
      );
      if (attached) throw new PveDie(`${key} - cloud-init drive is already attached at '${attached[0]}'`);
      const storage = storageConfig(ctx.paths, storageId);
      const format = isFileStorage(storage) ? 'qcow2' : 'raw';
      const volume = await allocVolume(ctx, storage.id, vmid, CLOUDINIT_SIZE, { name: `vm-${vmid}-cloudinit`, format });
      result.volids.push(volume.volid);
      delete keys.size;
      result.created[key] = printDrive(volume.volid, { ...keys, media: 'cdrom' });
      ctx.out(`${key}: successfully created disk '${result.created[key]}'\n`);
      continue;
    }
    const match = NEW_DISK.exec(drive.volid);
    if (match) {
      const storage = storageConfig(ctx.paths, match[2] ?? '');
      const importFrom = keys['import-from'];
      delete keys['import-from'];
      let size = Math.round(Number(match[3]) * GiB);
      let info: ReturnType<typeof imageInfo>;
      let source = '';
      if (importFrom !== undefined) {
        source = sourcePath(ctx, importFrom);
        info = imageInfo(callerFile(ctx, source));
        if (!info) throw new PveDie(`can't find file '${importFrom}'`);
        size = info.size;
      }
      const volume = await allocVolume(ctx, storage.id, vmid, size, info?.guest ? { guest: info.guest } : {});
      result.volids.push(volume.volid);
      if (info) {
        const target = shownVolumePath(storage, volume.volname);
        reportImport(ctx, size, source, info.format, target, 0, 50);
        await createCrashPoint(ctx);
        reportImport(ctx, size, source, info.format, target, 51, 100);
      }
      result.created[key] = printDrive(volume.volid, { ...keys, size: String(size) });
      ctx.out(`${key}: successfully created disk '${result.created[key]}'\n`);
      continue;
    }
    // An existing volume: attach it, taking its size (and freeing its unusedN slot).
    const volume = findVolume(ctx.paths, drive.volid);
    if (volume) result.created[key] = printDrive(volume.volid, { ...keys, size: String(volume.size) });
    else if (drive.volid !== 'none' && drive.volid !== 'cdrom' && parseVolid(drive.volid) && keys.media !== 'cdrom') {
      throw new PveDie(`volume ${drive.volid} does not exist`);
    }
  }
  return result;
}
