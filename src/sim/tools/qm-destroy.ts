import fs from 'node:fs';
import { stopGuest } from '../guest-control.js';
import { runningPid } from '../guest-record.js';
import { isDriveKey } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { parseDrive } from './property-string.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, forgetBorn, loadConfig, lockConfig } from './vm-store.js';
import { findVolume, freeVolume, listVolumes } from './volumes.js';

const bool = { type: 'boolean', optional: true } as const;

// `destroy_vm` (§7): direct-die pre-checks, then the worker frees the VM's volumes and removes
// the config last.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, purge: bool, skiplock: bool, 'destroy-unreferenced-disks': bool }, ['vmid']);
  const vmid = Number(params.vmid);
  const config = loadConfig(ctx, vmid);
  if (/^(1|on|yes|true)$/i.test(config.values.protection ?? '')) throw new PveDie(`can't remove VM ${vmid} - protection mode enabled`);
  if (runningPid(ctx.paths, vmid) !== undefined) throw new PveDie(`VM ${vmid} is running - destroy failed`);

  await lockConfig(ctx, vmid, async () => {
    const current = loadConfig(ctx, vmid);
    if (params.skiplock !== '1') checkLock(current);
    const owned = new Set<string>();
    for (const [key, value] of Object.entries(current.values)) {
      if (!isDriveKey(key) && !/^unused\d+$/.test(key)) continue;
      const volume = findVolume(ctx.paths, parseDrive(value).volid);
      if (volume && volume.vmid === vmid) owned.add(volume.volid);
    }
    if (params['destroy-unreferenced-disks'] === '1') {
      for (const volume of listVolumes(ctx.paths)) if (volume.vmid === vmid) owned.add(volume.volid);
    }
    for (const volid of owned) freeVolume(ctx, volid);
    if (params.purge === '1') ctx.out(`purging VM ${vmid} from related configurations..\n`);
    await stopGuest(ctx.paths, vmid);
    fs.rmSync(ctx.paths.vmConfig(ctx.node, vmid), { force: true });
    forgetBorn(ctx.paths, vmid);
  });
  return 0;
}
