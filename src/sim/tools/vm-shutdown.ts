import { stopGuest } from '../guest-control.js';
import { agentRequest } from './agent-client.js';
import type { VmConfig } from './config-format.js';
import { sleep } from './caller.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parsePropertyString } from './property-string.js';

const isTrue = (value: string | undefined) => /^(1|on|yes|true)$/i.test(value ?? '');

// get_qga_key($conf, 'enabled'): `agent: 1` or `agent: enabled=1,...`.
function agentEnabled(config: VmConfig): boolean {
  const agent = config.values.agent;
  if (agent === undefined) return false;
  const parsed = parsePropertyString(agent);
  return isTrue(parsed.keys.enabled ?? parsed.head);
}

// The shutdown branch of `_do_vm_stop` (qemu-server 8.2.4 PVE/QemuServer.pm l.6234-6313, 8.3.13
// l.6214-6293), for `qm shutdown` and `qm reboot` (vm_reboot calls it without force, l.6336).
// The caller holds the config lock and has checked that the VM runs.
export async function shutdownGuest(ctx: ToolContext, vmid: number, config: VmConfig, options: { timeout?: number; force: boolean }): Promise<void> {
  let timeout = options.timeout;
  // A `startup: down=N` stands in for a missing --timeout (l.6244-6247).
  const down = config.values.startup === undefined ? undefined : Number(parsePropertyString(config.values.startup).keys.down);
  if (timeout === undefined && down) timeout = down;

  if (agentEnabled(config)) {
    const started = Date.now();
    const agentAnswers = (await agentRequest(ctx.paths, vmid, 'guest-ping', ctx.settings.agentPingTimeoutMs)) !== undefined;
    if (ctx.settings.version === '8.2') {
      // Before qemu-server 8.3.4 (commit 03614a89) the config alone chooses guest-shutdown
      // (8.2.4 l.6253-6254). Unanswered, the QGA command times out after --timeout or, without
      // one, QMPClient's 10 minutes for guest-shutdown (PVE/QMPClient.pm l.106-136); the error
      // path then dies without "got timeout" (l.6284-6294).
      if (!agentAnswers) {
        await sleep(Math.max(0, 1000 * (timeout || 600) - (Date.now() - started)));
        if (!options.force) throw new PveDie('VM quit/powerdown failed');
        ctx.out('VM quit/powerdown failed - terminating now with SIGTERM\n');
        await stopGuest(ctx.paths, vmid);
        return;
      }
    } else if (!agentAnswers) {
      // qga_check_running warns (into the task log, i.e. stdout) and ACPI is used instead
      // (8.3.13 l.6233, l.7948-7957).
      ctx.out(`QEMU Guest Agent is not running - VM ${vmid} qmp command 'guest-ping' failed - got timeout\n`);
    }
  }

  // guest-shutdown answered or system_powerdown sent: wait until the VM is gone (l.6264-6279).
  if (ctx.faults.shutdownIgnored) {
    await sleep(1000 * (timeout ?? 60));
    if (!options.force) throw new PveDie('VM quit/powerdown failed - got timeout');
    ctx.out('VM still running - terminating now with SIGTERM\n');
  }
  await stopGuest(ctx.paths, vmid);
}
