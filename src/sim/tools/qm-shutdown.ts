import fs from 'node:fs';
import { stopGuest } from '../guest-control.js';
import { runningPid } from '../guest-record.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
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
    if (params.skiplock !== '1') checkLock(loadConfig(ctx, vmid));
    if (ctx.faults.shutdownIgnored) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * Number(params.timeout ?? 60)));
      if (params.forceStop !== '1') throw new PveDie('VM quit/powerdown failed - got timeout');
      ctx.out('VM still running - terminating now with SIGTERM\n');
    }
    await stopGuest(ctx.paths, vmid);
  });
  return 0;
}
