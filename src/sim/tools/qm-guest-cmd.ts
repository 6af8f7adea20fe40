import { runningPid } from '../guest-record.js';
import { agentRequest } from './agent-client.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { perlPrettyJson } from './json-pretty.js';
import { VMID_PROP } from './vm-schema.js';
import { loadConfig } from './vm-store.js';

export const AGENT_COMMANDS = [
  'fsfreeze-freeze', 'fsfreeze-status', 'fsfreeze-thaw', 'fstrim', 'get-fsinfo', 'get-host-name',
  'get-memory-block-info', 'get-memory-blocks', 'get-osinfo', 'get-time', 'get-timezone', 'get-users',
  'get-vcpus', 'info', 'network-get-interfaces', 'ping', 'shutdown', 'suspend-disk', 'suspend-hybrid',
  'suspend-ram',
] as const;

// Agent.pm `agent_available` + the command (§8): the checks in their order, then the answer.
export async function callAgent(ctx: ToolContext, vmid: number, command: string): Promise<unknown> {
  const config = loadConfig(ctx, vmid);
  if (config.values.agent === undefined) throw new PveDie('No QEMU guest agent configured');
  if (runningPid(ctx.paths, vmid) === undefined) throw new PveDie(`VM ${vmid} is not running`);
  const ping = await agentRequest(ctx.paths, vmid, 'guest-ping', ctx.settings.agentPingTimeoutMs);
  if (!ping) throw new PveDie('QEMU guest agent is not running');
  const answer = await agentRequest(ctx.paths, vmid, `guest-${command}`, 10_000);
  if (!answer) throw new PveDie(`VM ${vmid} qmp command 'guest-${command}' failed - got timeout`);
  if (answer.error) throw new PveDie(`VM ${vmid} qmp command 'guest-${command}' failed - ${answer.error.desc}`);
  return answer.return;
}

export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, command: { type: 'string', enum: AGENT_COMMANDS } }, ['vmid', 'command']);
  const result = await callAgent(ctx, Number(params.vmid), params.command as string);
  // $print_agent_result: nothing for an empty hash, scalars raw, the rest JSON::XS pretty.
  if (result === undefined || result === null) return 0;
  if (typeof result !== 'object') {
    ctx.out(`${String(result)}\n`);
    return 0;
  }
  if (!Array.isArray(result) && Object.keys(result).length === 0) return 0;
  ctx.out(`${perlPrettyJson(result)}\n`);
  return 0;
}
