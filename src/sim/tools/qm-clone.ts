import crypto from 'node:crypto';
import fs from 'node:fs';
import { runningPid } from '../guest-record.js';
import { emptyConfig, isDriveKey } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { verifyDnsName } from './formats.js';
import { parseParams } from './getopt.js';
import { randomMac } from './macs.js';
import { parseDrive, parseNet, printDrive, printNet } from './property-string.js';
import { VMID_PROP } from './vm-schema.js';
import { claimConfig, forgetBorn, loadConfig, lockConfig, vmOwner, writeConfig } from './vm-store.js';
import { allocVolume, findVolume, freeVolume } from './volumes.js';

// `clone_vm` kept simple: a full copy of every disk (linked clones are copied in full too), new
// MACs, smbios1 uuid and vmgenid; `lock: clone` on the new config while it runs.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    {
      vmid: VMID_PROP,
      newid: { ...VMID_PROP },
      name: { type: 'string', optional: true, format: verifyDnsName },
      description: { type: 'string', optional: true },
      full: { type: 'boolean', optional: true },
      storage: { type: 'string', optional: true },
      target: { type: 'string', optional: true },
      pool: { type: 'string', optional: true },
      snapname: { type: 'string', optional: true },
      format: { type: 'string', optional: true, enum: ['raw', 'qcow2', 'vmdk'] },
    },
    ['vmid', 'newid'],
  );
  const vmid = Number(params.vmid);
  const newid = Number(params.newid);
  const source = loadConfig(ctx, vmid);
  const isTemplate = /^(1|on|yes|true)$/i.test(source.values.template ?? '');
  if (!isTemplate && params.full === '0') throw new PveDie('linked clone feature is only available for templates');
  const emsg = `unable to create VM ${newid}`;
  await lockConfig(ctx, newid, () => {
    const owner = vmOwner(ctx, newid);
    if (owner !== undefined) throw new PveDie(`${emsg}: config file already exists`);
    claimConfig(ctx, newid, 'clone');
  });
  const created: string[] = [];
  try {
    const clone = emptyConfig();
    for (const [key, value] of Object.entries(source.values)) {
      if (['template', 'lock', 'snapstate', 'parent'].includes(key) || /^unused\d+$/.test(key)) continue;
      clone.values[key] = value;
    }
    clone.description = params.description ?? source.description;
    clone.values.name = params.name ?? `Copy-of-VM-${source.values.name ?? vmid}`;
    if (runningPid(ctx.paths, vmid) !== undefined && !isTemplate) ctx.out(`create full clone of drive scsi0 while VM ${vmid} is running\n`);
    for (const [key, value] of Object.entries(clone.values)) {
      if (/^net\d+$/.test(key)) {
        const nic = parseNet(value);
        if (nic) clone.values[key] = printNet({ ...nic, mac: randomMac() });
      } else if (isDriveKey(key)) {
        const drive = parseDrive(value);
        const volume = findVolume(ctx.paths, drive.volid);
        if (!volume || drive.keys.media === 'cdrom') {
          if (volume && /cloudinit/.test(volume.volname)) {
            const ci = await allocVolume(ctx, params.storage ?? volume.storage, newid, volume.size, { name: `vm-${newid}-cloudinit`, format: volume.format });
            created.push(ci.volid);
            clone.values[key] = printDrive(ci.volid, drive.keys);
          }
          continue;
        }
        ctx.out(`create full clone of drive ${key} (${drive.volid})\n`);
        const copy = await allocVolume(ctx, params.storage ?? volume.storage, newid, volume.size, { format: volume.format, ...(volume.guest ? { guest: volume.guest } : {}) });
        created.push(copy.volid);
        ctx.out(`transferred ${volume.size} bytes of ${volume.size} bytes (100.00%)\n`);
        clone.values[key] = printDrive(copy.volid, { ...drive.keys, size: String(volume.size) });
      }
    }
    clone.values.smbios1 = `uuid=${crypto.randomUUID()}`;
    clone.values.vmgenid = crypto.randomUUID();
    writeConfig(ctx, newid, clone);
  } catch (error) {
    for (const volid of created) freeVolume(ctx, volid);
    fs.rmSync(ctx.paths.vmConfig(ctx.node, newid), { force: true });
    forgetBorn(ctx.paths, newid);
    throw new PveDie(`clone failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return 0;
}
