import crypto from 'node:crypto';
import fs from 'node:fs';
import { VERSION_PROFILES } from '../settings.js';
import { mapSshKeysFile, validateSshKeys } from './cli-mapping.js';
import { emptyConfig, type VmConfig } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { checkDriveParams, createDisks, type CreatedDisks } from './disk-create.js';
import { getOptions, validateParams } from './getopt.js';
import { addRandomMacs } from './macs.js';
import { defaultBootOrder } from './vm-defaults.js';
import { CREATE_PROPS } from './vm-schema.js';
import { claimConfig, forgetBorn, lockConfig, vmOwner, writeConfig } from './vm-store.js';
import { freeVolume } from './volumes.js';

// Parameters create_vm extracts instead of writing them into the config.
const NOT_CONFIG = ['vmid', 'archive', 'bwlimit', 'force', 'ha-managed', 'live-restore', 'pool', 'start', 'storage', 'unique'];

// API2/Qemu.pm `create_vm` (§3): checks, the atomic claim (`lock: create`), then the worker.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = getOptions(args, CREATE_PROPS, ['vmid']);
  mapSshKeysFile(ctx, params);
  validateParams(params, CREATE_PROPS);
  const vmid = Number(params.vmid);
  if (params.sshkeys !== undefined) await validateSshKeys(ctx, params.sshkeys);
  checkDriveParams(ctx, params);
  addRandomMacs(params);

  const emsg = `unable to create VM ${vmid} -`;
  try {
    // create_and_lock_config: under the flock, the ID must be free cluster-wide.
    await lockConfig(
      ctx,
      vmid,
      () => {
        const owner = vmOwner(ctx, vmid);
        if (owner !== undefined) throw new PveDie(`VM ${vmid} already exists on node '${owner}'`);
        try {
          claimConfig(ctx, vmid, 'create');
        } catch {
          throw new PveDie(`VM ${vmid} already exists on node '${ctx.node}'`);
        }
      },
      5000,
    );
  } catch (error) {
    if (error instanceof PveDie) throw new PveDie(`${emsg} ${error.message}`);
    throw error;
  }

  // Options are stored as passed, `tags` too: create_vm normalizes them (get_unique_tags) only
  // from qemu-server 9.1.17 (commit 492347ae), later than every profile here; `qm set` always does.
  const config: VmConfig = emptyConfig();
  for (const [key, value] of Object.entries(params)) {
    if (NOT_CONFIG.includes(key)) continue;
    if (key === 'description') config.description = value;
    else config.values[key] = value;
  }
  const disks: CreatedDisks = { created: {}, volids: [] };
  try {
    await lockConfig(ctx, vmid, async () => {
      const profile = VERSION_PROFILES[ctx.settings.version];
      config.values.meta = `creation-qemu=${profile.pveQemu},ctime=${Math.floor(Date.now() / 1000)}`;
      await createDisks(ctx, vmid, params, { values: {} }, disks);
      Object.assign(config.values, disks.created);
      const boot = config.values.boot ?? defaultBootOrder(config.values);
      if (boot !== '') config.values.boot = boot;
      config.values.smbios1 ??= `uuid=${crypto.randomUUID()}`;
      if (config.values.vmgenid === undefined || config.values.vmgenid === '1') config.values.vmgenid = crypto.randomUUID();
      writeConfig(ctx, vmid, config);
    }, 1000);
  } catch (error) {
    for (const volid of disks.volids) freeVolume(ctx, volid);
    fs.rmSync(ctx.paths.vmConfig(ctx.node, vmid), { force: true });
    forgetBorn(ctx.paths, vmid);
    const message = error instanceof Error ? error.message : String(error);
    throw new PveDie(`${emsg} ${message.trim().replaceAll('\n', ' ')}`);
  }

  if (params.start === '1') {
    ctx.out('Execute autostart\n');
    const { startVm } = await import('./vm-start.js');
    try {
      await startVm(ctx, vmid, {});
    } catch (error) {
      if (!(error instanceof PveDie)) throw error;
      ctx.err(`${error.message}\n`);
    }
  }
  return 0;
}
