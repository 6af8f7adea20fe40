import { runningPid } from '../guest-record.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { startVm } from './vm-start.js';
import { VMID_PROP } from './vm-schema.js';
import { shutdownGuest } from './vm-shutdown.js';
import { checkLock, loadConfig, lockConfig } from './vm-store.js';

// `vm_reboot` (§7): a stopped VM gets the vm_is_paused warning and then a direct die. A running
// one is shut down under the config lock as `qm shutdown` does it, without force (so on 8.2 an
// agent that is enabled but silent fails it after the timeout), and started again (qmeventd's
// job on a real host), with a fresh boot delay.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, timeout: { type: 'integer', optional: true, minimum: 0 } }, ['vmid']);
  const vmid = Number(params.vmid);
  loadConfig(ctx, vmid);
  if (runningPid(ctx.paths, vmid) === undefined) {
    ctx.err(`VM ${vmid} not running\n\n`);
    throw new PveDie(`VM ${vmid} not running`);
  }
  await lockConfig(ctx, vmid, async () => {
    const current = loadConfig(ctx, vmid);
    checkLock(current);
    await shutdownGuest(ctx, vmid, current, { timeout: params.timeout === undefined ? undefined : Number(params.timeout), force: false });
  });
  await startVm(ctx, vmid, {});
  return 0;
}
