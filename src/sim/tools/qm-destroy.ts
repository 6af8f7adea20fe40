import fs from 'node:fs';
import { stopGuest } from '../guest-control.js';
import { runningPid } from '../guest-record.js';
import { isDriveKey, type ConfigSection } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { parseDrive } from './property-string.js';
import { activateStorage, enabledOnNode, readStorageCfg } from './storage-config.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, forgetBorn, loadConfig, lockConfig } from './vm-store.js';
import { findVolume, freeVolume, listVolumes } from './volumes.js';

const bool = { type: 'boolean', optional: true } as const;

// The volumes `destroy_vm` frees as referenced (qemu-server 9.2.6 PVE/QemuServer.pm l.1874-1905):
// drives, unusedN and vmstate of the config and of [PENDING], a cloud-init drive too but no other
// cdrom (drive_is_cdrom($drive, 1)), and only volumes this VM owns.
function referencedVolumes(ctx: ToolContext, vmid: number, sections: ConfigSection[]): Set<string> {
  const owned = new Set<string>();
  for (const section of sections) {
    for (const [key, value] of Object.entries(section.values)) {
      if (!isDriveKey(key) && !/^unused\d+$/.test(key) && key !== 'vmstate') continue;
      const drive = parseDrive(value);
      const cloudinit = /[:/](?:vm-\d+-)?cloudinit(?:\.(raw|qcow2|vmdk))?$/.test(drive.volid);
      if (drive.keys.media === 'cdrom' && !cloudinit) continue;
      const volume = findVolume(ctx.paths, drive.volid);
      if (volume && volume.vmid === vmid) owned.add(volume.volid);
    }
  }
  return owned;
}

// `destroy_vm` (§7, §15.7): direct-die pre-checks, then the worker frees the referenced volumes
// and removes the config last. --destroy-unreferenced-disks then runs vdisk_list over every
// storage enabled here with `images` content (l.1908): activate_storage_list first, not in an
// eval, so one storage that is not online fails the task after the referenced volumes are gone
// and before the config is touched.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, purge: bool, skiplock: bool, 'destroy-unreferenced-disks': bool }, ['vmid']);
  const vmid = Number(params.vmid);
  const config = loadConfig(ctx, vmid);
  if (/^(1|on|yes|true)$/i.test(config.values.protection ?? '')) throw new PveDie(`can't remove VM ${vmid} - protection mode enabled`);
  if (runningPid(ctx.paths, vmid) !== undefined) throw new PveDie(`VM ${vmid} is running - destroy failed`);

  await lockConfig(ctx, vmid, async () => {
    const current = loadConfig(ctx, vmid);
    if (params.skiplock !== '1') checkLock(current);
    for (const volid of referencedVolumes(ctx, vmid, [current, current.pending])) freeVolume(ctx, volid);
    if (params['destroy-unreferenced-disks'] === '1') {
      const storages = readStorageCfg(ctx.paths).storages.filter((storage) => enabledOnNode(storage, ctx.node) && storage.content.includes('images'));
      for (const storage of storages) activateStorage(ctx.faults, storage);
      const ids = new Set(storages.map((storage) => storage.id));
      for (const volume of listVolumes(ctx.paths)) if (volume.vmid === vmid && ids.has(volume.storage)) freeVolume(ctx, volume.volid);
    }
    if (params.purge === '1') ctx.out(`purging VM ${vmid} from related configurations..\n`);
    await stopGuest(ctx.paths, vmid);
    fs.rmSync(ctx.paths.vmConfig(ctx.node, vmid), { force: true });
    forgetBorn(ctx.paths, vmid);
  });
  return 0;
}
