import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { z } from 'zod';
import { buildAgentPlan, DEFAULT_MAX_CHARS, PlanTooLongError } from '../../agents/plan.js';
import { renderPlanJson, renderPlanText } from '../../agents/render-plan.js';
import { commandSources, parseSettings } from '../../config/load.js';
import { resolveOs } from '../../config/os-images.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { targetSchema, vmSpecSchema, type Target } from '../../config/spec.js';
import { newRunId } from '../../jobs/run-job.js';
import { LinusError } from '../../protocol/errors.js';
import { provisionerArgs } from '../../provisioners/args.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import { withJsonErrors } from '../json-errors.js';
import type { CliContext } from '../io.js';
import { TARGET_OPTIONS } from '../target-options.js';
import { VM_OPTIONS, VM_OPTION_NAMES } from '../vm-options.js';
import { describeOf, type FlagsOf } from './index.js';

const builder = (yargs: Argv) =>
  yargs
    .group(['host', 'port', 'user', 'node', 'storage', 'bridge', 'remote-dir', 'config', 'profile'], 'Proxmox host:')
    .group(VM_OPTION_NAMES, 'VM:')
    .group(['max-chars', 'json'], 'Plan:')
    .options({
      host: { type: 'string', describe: 'Proxmox host, only to label the plan (ssh-mcp holds the connection)' },
      port: { type: 'number', describe: 'SSH port, only to label the plan [default: 22]' },
      user: { type: 'string', describe: 'SSH user, only to label the plan [default: root]' },
      node: TARGET_OPTIONS.node,
      storage: TARGET_OPTIONS.storage,
      bridge: TARGET_OPTIONS.bridge,
      'remote-dir': TARGET_OPTIONS['remote-dir'],
      config: TARGET_OPTIONS.config,
      profile: TARGET_OPTIONS.profile,
      ...VM_OPTIONS,
      'ssh-key': { ...VM_OPTIONS['ssh-key'], describe: 'Public key file for the VM user, read here and embedded in the plan (required unless --password)' },
      'max-chars': { type: 'number', describe: `Longest command ssh-mcp accepts (v2: 5000, v1: 1000) [default: ${DEFAULT_MAX_CHARS}]` },
      json: { type: 'boolean', describe: 'Print {"steps":[{"command","repeat","purpose",...}]} instead of numbered text' },
    })
    .example('$0 agent-plan --name web01 --os ubuntu --cores 4 --memory 8192 --ssh-key ~/.ssh/id_ed25519.pub', 'The plan an agent follows with ssh-mcp v2')
    .example('$0 agent-plan --name web01 --ssh-key ~/.ssh/id_ed25519.pub --max-chars 1000 --json', 'For ssh-mcp v1 (1000-character commands), as JSON');

type AgentPlanFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

// The target without a host to reach: ssh-mcp connects, with its own credentials and host key.
// --host/--port/--user only label the plan. Settings that are about the SSH connection itself
// (identity, known hosts, host key) are still accepted from LINUS_* and --config and ignored,
// so one config file serves both `provision` and `agent-plan`.
const planTargetSchema = targetSchema.extend({ host: targetSchema.shape.host.optional() });
// The smallest limit that fits the fixed steps; ssh-mcp's own limits are 1000 (v1) and 5000 (v2).
const maxCharsSchema = z.coerce.number().int().min(500).max(100_000);

function parseMaxChars(value: unknown): number {
  const parsed = maxCharsSchema.safeParse(value ?? DEFAULT_MAX_CHARS);
  if (parsed.success) return parsed.data;
  throw new LinusError({
    code: 'INVALID_SPEC',
    message: `--max-chars: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
    remediation: "Use ssh-mcp's command limit: 5000 for v2 (its default), 1000 for v1 unless started with --maxChars=none.",
  });
}

function run(cli: CliContext, argv: AgentPlanFlags): void {
  const sources = commandSources(argv, cli.io.env);
  // Everything is validated, and the key file read, before anything is printed.
  const maxChars = parseMaxChars(argv.maxChars);
  const planTarget = parseSettings(planTargetSchema, sources);
  const spec = parseSettings(vmSpecSchema, sources);
  const sshKeys = spec.sshKey === undefined ? undefined : readPublicKeys(spec.sshKey);
  // provisionerArgs reads only the node, storage, bridge and remote dir of the target.
  const target: Target = { ...planTarget, host: planTarget.host ?? '' };
  const args = provisionerArgs(target, spec, sshKeys, false);
  const provisioner = loadProvisioner('proxmox');
  let plan;
  try {
    plan = buildAgentPlan({ provisioner, remoteDir: target.remoteDir, args, runId: newRunId(), maxChars });
  } catch (error) {
    if (!(error instanceof PlanTooLongError)) throw error;
    throw new LinusError({ code: 'INVALID_SPEC', message: error.message, remediation: 'Raise --max-chars (and ssh-mcp\'s limit with it), or shorten the longest option.' });
  }
  const where = planTarget.host ? ` on ${planTarget.user}@${planTarget.host}:${planTarget.port}` : '';
  const title =
    `VM ${spec.name} (${resolveOs(spec.os)}, ${spec.cores} cores, ${spec.memory} MiB, ${spec.disk} GiB disk)` +
    ` on node ${target.node}, storage ${target.storage}, bridge ${target.bridge}${where}`;
  cli.io.stdout.write(argv.json ? renderPlanJson(plan, title) : renderPlanText(plan, title));
}

export function agentPlanCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'agent-plan', describe: describeOf('agent-plan'), builder, handler: withJsonErrors(cli, (argv) => run(cli, argv)) };
}
