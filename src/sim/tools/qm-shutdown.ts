import fs from 'node:fs';
import { runningPid } from '../guest-record.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
import { shutdownGuest } from './vm-shutdown.js';
import { checkLock, loadConfig, lockConfig } from './vm-store.js';

const bool = { type: 'boolean', optional: true } as const;

// `vm_shutdown` (§7). vm_is_paused runs a QMP query first and `warn`s its failure, so a stopped VM
// prints "VM 100 not running" and a blank line on stderr, then the task succeeds silently.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    { vmid: VMID_PROP, skiplock: bool, keepActive: bool, forceStop: bool, timeout: { type: 'integer', optional: true, minimum: 0 } },
    ['vmid'],
  );
  const vmid = Number(params.vmid);
  if (!fs.existsSync(ctx.paths.vmConfig(ctx.node, vmid))) {
    const message = `unable to find configuration file for VM ${vmid} on node '${ctx.node}'`;
    ctx.err(`${message}\n\n`);
    throw new PveDie(message);
  }
  if (runningPid(ctx.paths, vmid) === undefined) {
    ctx.err(`VM ${vmid} not running\n\n`);
    return 0;
  }
  await lockConfig(ctx, vmid, async () => {
    const config = loadConfig(ctx, vmid);
    if (params.skiplock !== '1') checkLock(config);
    await shutdownGuest(ctx, vmid, config, { timeout: params.timeout === undefined ? undefined : Number(params.timeout), force: params.forceStop === '1' });
  });
  return 0;
}
