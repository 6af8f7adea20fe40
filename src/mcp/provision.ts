import { z } from 'zod';
import { parseCloneSpec } from '../config/clone-spec.js';
import { parseSettings } from '../config/load.js';
import { STEP_TEXT, type StepName } from '../config/rules.js';
import { OS_NAMES } from '../config/os-images.js';
import { targetSchema, vmNameSchema, vmSpecSchema } from '../config/spec.js';
import { parsePublicKeys, readPublicKeys } from '../config/ssh-key.js';
import { cloneVm } from '../jobs/clone.js';
import { cloneJson, provisionJson } from '../jobs/json.js';
import { provisionVms } from '../jobs/provision.js';
import type { ProgressEvent } from '../jobs/run-job.js';
import { LinusError } from '../protocol/errors.js';
import type { ErrorReport, ProvisionOutcome } from '../protocol/transcript.js';
import { failedResult, okResult, outputSchema } from './results.js';
import { defineTool, type CallContext, type ToolContext, type ToolDef } from './tools.js';
import { resolveVm, vmRef } from './vm-ref.js';

// provision_vm and clone_vm: host jobs (jobs/), with a progress notification per host step and
// the request's cancellation tied to the job's rollback.

// The arguments are the provision flags: typed here, checked by the CLI's own schema
// (config/spec.ts) when the call runs, so a bad value is an INVALID_SPEC result naming it, and
// the environment and --config fill what a call leaves out, as for the CLI's flags.
const text = (description: string) => z.string().optional().describe(description);
const count = (description: string) => z.number().optional().describe(description);
const yes = (description: string) => z.boolean().optional().describe(description);

const keyFields = {
  sshKey: text('Public key text for the VM user'),
  sshKeyFile: text('Path of a public key file on the server'),
};

const provisionInput = z
  .object({
    name: vmNameSchema,
    os: z.enum(OS_NAMES).optional().describe('[ubuntu]'),
    cores: count('[2]'),
    memory: count('MiB [2048]'),
    disk: count('GiB [20]'),
    vmUser: text("[the image's]"),
    ...keyFields,
    ip: text("'dhcp' or A.B.C.D/N [dhcp]"),
    gateway: text('With a static ip'),
    dns: text('Name servers, space-separated'),
    searchDomain: text('DNS search domain'),
    vlan: count('VLAN tag'),
    imageUrl: text('Image mirror, with imageSha256'),
    imageSha256: text('sha256 of imageUrl'),
    timeout: count('IP+SSH wait, s [300]'),
    cpu: text('[x86-64-v2-AES]'),
    upgrade: yes('Upgrade packages at first boot'),
    node: text("Node, or 'auto'"),
    storage: text('Disk storage'),
    bridge: text('Network bridge'),
    dryRun: yes('Check only'),
    force: yes('Go past 90 % memory/storage use'),
    ifExists: z.enum(['fail', 'reuse']).optional().describe('Name taken: fail, or reuse a linus VM of the same spec [fail]'),
  })
  .strict();

// The CLI's NAME_CONFLICT remediation names its --if-exists flag; the tool has its own argument.
const NAME_TAKEN = "Pick another name, delete that VM (delete_vm), or call again with ifExists: 'reuse' to take it as it is if linus made it with these settings.";

const jobOutput = outputSchema({
  vm: z.looseObject({ id: z.number(), ip: z.string(), user: z.string() }),
  runId: z.string(),
  plan: z.array(z.string()),
});

// The VM's keys: text, a file, or (neither) the key file the settings name; never both.
function keysOf(args: { sshKey?: string | undefined; sshKeyFile?: string | undefined }): { text?: string; file?: string } {
  if (args.sshKey !== undefined && args.sshKeyFile !== undefined) {
    throw new LinusError({ code: 'INVALID_SPEC', message: 'sshKey and sshKeyFile: give one of them', remediation: 'Fix the named value and call again; nothing was sent to the host.' });
  }
  if (args.sshKey !== undefined) return { text: parsePublicKeys(args.sshKey, 'sshKey', 'the text given') };
  return args.sshKeyFile === undefined ? {} : { file: args.sshKeyFile };
}

// Progress notifications from the host's steps (LINUS_STEP <i>/<n>:<name>): strictly increasing,
// also across a retry, whose steps start again at 1 and add to the total.
function stepProgress(call: CallContext): (event: ProgressEvent) => void {
  let base = 0;
  let total = 0;
  let last = 0;
  return (event) => {
    if (event.kind === 'retry') base = Math.max(last, base + total);
    if (event.kind !== 'step' || !call.progress) return;
    const match = /^([0-9]+)\/([0-9]+):(.*)$/.exec(event.step);
    if (!match) return;
    total = Number(match[2]);
    const progress = base + Number(match[1]);
    if (progress <= last) return;
    last = progress;
    call.progress(progress, base + total, STEP_TEXT[match[3] as StepName] ?? match[3] ?? '');
  };
}

function jobAnswer(structured: Record<string, unknown>, outcome: ProvisionOutcome | undefined, action: string, reused = false) {
  if (structured.ok !== true) {
    const vmId = outcome && !outcome.ok ? outcome.vmId : undefined;
    return failedResult(structured as Record<string, unknown> & { error: ErrorReport }, `${action} failed${vmId === undefined ? '' : ` (VM ${vmId} was rolled back)`}: `);
  }
  if (outcome?.kind === 'dry-run') return okResult(structured, `Dry run: nothing was changed. These commands would run:\n${outcome.plan.join('\n')}`);
  if (outcome?.kind !== 'success') throw new LinusError({ code: 'INTERNAL', message: `${action} answered ok without a VM` });
  const { vm } = outcome;
  return okResult(structured, `VM ${vm.id} '${vm.name}' ${reused ? 'exists with these settings (reused)' : 'is ready'} on node ${vm.node}: ${vm.cores} cores, ${vm.memoryMiB} MiB, ${vm.diskGiB} GiB, ${vm.os}; ssh ${vm.user}@${vm.ip}`);
}

export function provisionTools(context: ToolContext): ToolDef[] {
  const { resolved, sources, ops } = context;
  return [
    defineTool({
      name: 'provision_vm',
      description: 'Create a VM from a verified cloud image and wait until SSH answers. Progress per step; cancel rolls back.',
      input: provisionInput,
      output: jobOutput,
      run: async (args, call) => {
        const { sshKey: _text, sshKeyFile: _file, dryRun, force, node, storage, bridge, ifExists, ...vm } = args;
        const keys = keysOf(args);
        // A generated password would land in the agent's context: keys only. (The spec needs to
        // know a key is given; its text travels apart.)
        const flags = { ...vm, password: false, sshKey: keys.text === undefined ? keys.file : 'sshKey' };
        const vmSpec = parseSettings(vmSpecSchema, { ...sources, flags: { ...flags, ...resolved.specDefaults(flags) } });
        const sshKeys = keys.text ?? (vmSpec.sshKey === undefined ? undefined : readPublicKeys(vmSpec.sshKey, keys.file === undefined ? '--ssh-key' : 'sshKeyFile'));
        const place = parseSettings(targetSchema.pick({ node: true, storage: true, bridge: true }).partial(), { flags: { node, storage, bridge }, env: {} });
        const target = { ...resolved.target, ...optional(place) };
        const onStep = stepProgress(call);
        const result = await provisionVms(
          { ssh: ops.ssh, ...(ops.connect ? { connect: ops.connect } : {}), nodeAddresses: ops.nodeAddresses, signal: call.signal, onEvent: (_name, event) => onStep(event) },
          { target, specs: [vmSpec], sshKeys, dryRun: Boolean(dryRun), force: Boolean(force), many: false, ifExists: ifExists ?? 'fail' },
        );
        const structured = provisionJson(result, false);
        const error = structured.error as ErrorReport | undefined;
        if (error?.code === 'NAME_CONFLICT' && error.remediation.includes('--if-exists reuse')) structured.error = { ...error, remediation: NAME_TAKEN };
        return jobAnswer(structured, result.runs[0]?.outcome, 'Provision', result.runs[0]?.reused);
      },
    }),
    defineTool({
      name: 'clone_vm',
      description: 'Clone a template, set cloud-init user/key/IP, wait until SSH answers (as provision_vm).',
      input: z
        .object({
          template: vmRef.describe('Template ID or name'),
          name: vmNameSchema,
          linked: yes('Linked clone [full copy]'),
          vmUser: text("[the template's]"),
          ...keyFields,
          ip: text("[the template's]"),
          gateway: text('With a static ip'),
          timeout: count('Seconds for the IP and SSH'),
          force: yes('Go past 90 % memory/storage use'),
        })
        .strict(),
      output: jobOutput,
      run: async (args, call) => {
        const keys = keysOf(args);
        const sshKeys = keys.text ?? (keys.file === undefined ? undefined : readPublicKeys(keys.file, 'sshKeyFile'));
        const templateId = await resolveVm(ops, args.template);
        const cloneSpec = parseCloneSpec(templateId, { name: args.name, linked: Boolean(args.linked), force: Boolean(args.force), ...optional({ vmUser: args.vmUser, ip: args.ip, gateway: args.gateway, timeout: args.timeout }) });
        const onStep = stepProgress(call);
        const result = await cloneVm({ ...ops, onEvent: (event) => onStep(event), signal: call.signal }, cloneSpec, sshKeys);
        return jobAnswer(cloneJson(result), result.outcome, 'Clone');
      },
    }),
  ];
}

// The entries whose value is given.
function optional<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
