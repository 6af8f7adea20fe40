import { runningPid } from '../guest-record.js';
import { mapSshKeysFile, validateSshKeys } from './cli-mapping.js';
import { isDriveKey, type VmConfig } from './config-format.js';
import type { ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import { checkDriveParams, createDisks, isCloudInitDrive, type CreatedDisks } from './disk-create.js';
import { getOptions, validateParams } from './getopt.js';
import { addRandomMacs } from './macs.js';
import { parseDrive } from './property-string.js';
import { encryptPassword } from './sha-crypt.js';
import { readTagStyle, uniqueTags } from './vm-defaults.js';
import { isHotpluggable, SET_PROPS, VM_CONFIG_PROPS } from './vm-schema.js';
import { checkLock, loadConfig, lockConfig, writeConfig } from './vm-store.js';
import { findVolume, freeVolume } from './volumes.js';

const NOT_CONFIG = ['vmid', 'delete', 'digest', 'force', 'revert', 'skiplock'];

function splitList(text: string | undefined): string[] {
  return (text ?? '').split(/[,;\s]+/).filter(Boolean);
}

// Detach a deleted drive: its own volume becomes unusedN, a cloud-init volume is freed.
export function detachDrive(ctx: ToolContext, vmid: number, config: VmConfig, value: string): void {
  const drive = parseDrive(value);
  if (isCloudInitDrive(value)) {
    freeVolume(ctx, drive.volid);
    return;
  }
  const volume = findVolume(ctx.paths, drive.volid);
  if (!volume || volume.vmid !== vmid || drive.keys.media === 'cdrom') return;
  for (let n = 0; n < 256; n += 1) {
    if (config.values[`unused${n}`] === undefined) {
      config.values[`unused${n}`] = drive.volid;
      return;
    }
  }
}

// `$update_vm_api` (§5): checks, `update VM ...` line, disks, pending or applied changes.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = getOptions(args, SET_PROPS, ['vmid']);
  mapSshKeysFile(ctx, params);
  validateParams(params, SET_PROPS);
  const vmid = Number(params.vmid);

  const shown = Object.keys(params)
    .filter((key) => key !== 'vmid' && key !== 'digest')
    .sort()
    .map((key) => `-${key} ${key === 'cipassword' ? '<hidden>' : params[key]}`)
    .join(' ');
  if (params.sshkeys !== undefined) await validateSshKeys(ctx, params.sshkeys);
  const changes = Object.fromEntries(Object.entries(params).filter(([key]) => !NOT_CONFIG.includes(key)));
  const deletes = splitList(params.delete).map((key) => (key === 'cdrom' ? 'ide2' : key));
  if (deletes.length === 0 && params.revert === undefined && Object.keys(changes).length === 0) throw new PveDie('no options specified');
  for (const key of deletes) {
    if (changes[key] !== undefined) throw paramExc({ delete: `you can't use '-${key}' and -delete ${key}' at the same time` });
    if (VM_CONFIG_PROPS[key] === undefined) throw paramExc({ delete: `unknown option '${key}'` });
  }
  checkDriveParams(ctx, changes);
  addRandomMacs(changes);

  await lockConfig(ctx, vmid, async () => {
    const config = loadConfig(ctx, vmid);
    if (params.skiplock !== '1') checkLock(config);
    ctx.out(`update VM ${vmid}: ${shown}\n`);

    const running = runningPid(ctx.paths, vmid) !== undefined;
    for (const key of deletes) {
      const value = config.values[key] ?? config.pending.values[key];
      if (value === undefined) {
        ctx.err(`cannot delete '${key}' - not set in current configuration!\n`);
        continue;
      }
      if (running && !isHotpluggable(key)) {
        config.pending.values.delete = [...splitList(config.pending.values.delete), key].join(',');
        continue;
      }
      if (isDriveKey(key)) detachDrive(ctx, vmid, config, value);
      delete config.values[key];
      delete config.pending.values[key];
    }

    if (changes.cipassword !== undefined && !/^\$(?:[156]|2[ay])(\$.+){2}/.test(changes.cipassword) && !/^w/.test(config.values.ostype ?? '')) {
      changes.cipassword = encryptPassword(changes.cipassword);
    }
    if (changes.tags !== undefined) changes.tags = uniqueTags(changes.tags, readTagStyle(ctx.paths));

    const disks: CreatedDisks = { created: {}, volids: [] };
    await createDisks(ctx, vmid, changes, config, disks);
    Object.assign(changes, disks.created);
    let ciDriveAdded = Object.values(disks.created).some(isCloudInitDrive);

    for (const [key, value] of Object.entries(changes)) {
      const target = running && !isHotpluggable(key) && key !== 'cipassword' ? config.pending : config;
      if (key === 'description') target.description = value;
      else target.values[key] = value;
      if (isDriveKey(key) && target === config) {
        // Attaching a volume removes its unusedN entry.
        const volid = parseDrive(value).volid;
        for (const [other, otherValue] of Object.entries(config.values)) {
          if (/^unused\d+$/.test(other) && otherValue === volid) delete config.values[other];
        }
      }
    }
    if (running) ciDriveAdded = false;
    writeConfig(ctx, vmid, config);
    if (ciDriveAdded) ctx.out('generating cloud-init ISO\n');
  });
  return 0;
}
