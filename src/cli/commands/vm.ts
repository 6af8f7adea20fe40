import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { describeOf } from './index.js';
import type { z } from 'zod';
import { commandSources } from '../../config/load.js';
import { RANGES } from '../../config/rules.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { errorText, LinusError } from '../../protocol/errors.js';
import { configSchema, deleteSchema, listRowSchema, parseData, powerSchema, resizeSchema, setSchema, statusSchema } from '../../protocol/data.js';
import { isProgressLog } from '../../protocol/records.js';
import type { OpOutcome } from '../../protocol/transcript.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import type { ProvisionerFile } from '../../provisioners/remote.js';
import { cloneVm, cloneArgs, type CloneFlags } from '../../vm/clone.js';
import { confirmByName } from '../../vm/confirm.js';
import { checkVmFlags } from '../../vm/flags.js';
import { parseNodeAddresses, type NodeAddress } from '../../vm/nodes.js';
import { gib, listText, statsJson } from '../../vm/render.js';
import { runOp, type OpStats } from '../../vm/run-op.js';
import { outcomeJson, printWarnings, progressRenderer, summarize } from '../render.js';
import { withJsonErrors } from '../json-errors.js';
import { withTarget, type ResolvedTarget } from '../target.js';
import { targetOptions, type TargetFlags } from '../target-options.js';
import { VM_OPTIONS } from '../vm-options.js';

export interface VmFlags extends TargetFlags, CloneFlags {
  id?: number;
  templateId?: number;
  json?: boolean;
  quiet?: boolean;
  timeout?: number;
  force?: boolean;
  yes?: boolean;
  stop?: boolean;
  foreign?: boolean;
  cores?: number;
  memory?: number;
  description?: string;
  tags?: string;
  disk?: string;
  size?: string;
}

export interface OpsContext {
  resolved: ResolvedTarget;
  script: ProvisionerFile;
  nodeAddresses: Record<string, NodeAddress>;
  run: (args: string[]) => Promise<{ outcome: OpOutcome; stats: OpStats }>;
}

// Checks the flags, then resolves the target (a real host or --sandbox) and hands out a runner for
// `vm.sh` commands.
export async function withOps(argv: ArgumentsCamelCase<VmFlags>, fn: (ctx: OpsContext) => Promise<void>): Promise<void> {
  checkVmFlags(argv);
  await withOpsTarget(argv, fn);
}

// vm clone checks its own flags (cloneArgs: its --timeout range is that of a whole clone job).
async function withOpsTarget(argv: ArgumentsCamelCase<VmFlags>, fn: (ctx: OpsContext) => Promise<void>): Promise<void> {
  const script = loadProvisioner('vm');
  const quiet = Boolean(argv.quiet || argv.json);
  await withTarget(argv, commandSources(argv), async (resolved) => {
    const nodeAddresses = parseNodeAddresses(resolved.target.nodeAddresses);
    return fn({
      resolved,
      script,
      nodeAddresses,
      run: (args) =>
        runOp(
          { ssh: resolved.ssh, script, remoteDir: resolved.target.remoteDir, nodeAddresses, ...(quiet ? {} : { onLog: (line: string) => isProgressLog(line) && process.stderr.write(`linus: ${line}\n`) }) },
          [...args, '--remote-dir', resolved.target.remoteDir],
        ),
    });
  });
}

function fail(argv: VmFlags, outcome: Extract<OpOutcome, { ok: false }>, stats: OpStats): void {
  if (argv.json) process.stdout.write(`${JSON.stringify({ ok: false, error: outcome.error, warnings: outcome.warnings, stats: statsJson(stats) })}\n`);
  else process.stderr.write(`linus: ${errorText(outcome.error)}`);
  process.exitCode = outcome.error.exitCode;
}

// Prints one operation's result: the JSON object, or text, plus warnings on stderr.
export function finish<T>(argv: VmFlags, result: { outcome: OpOutcome; stats: OpStats }, schema: z.ZodType<T>, text: (data: T) => string, key = 'vm'): void {
  const { outcome, stats } = result;
  if (!outcome.ok) return fail(argv, outcome, stats);
  const data = parseData(schema, outcome.data[0], 'result');
  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ ok: true, [key]: data, warnings: outcome.warnings, stats: statsJson(stats) })}\n`);
    return;
  }
  printWarnings(outcome.warnings);
  if (!argv.quiet) process.stdout.write(text(data));
}

const vmLabel = (data: { id: number; name: string }) => `VM ${data.id} '${data.name}'`;

// linus never touches a VM it did not create: the host refuses one without the `linus` tag
// (VM_NOT_OWNED) unless --foreign is passed.
const FOREIGN_OPTION = { foreign: { type: 'boolean', describe: "Act on a VM linus did not create (no 'linus' tag)" } } as const;

function withForeign(argv: VmFlags, args: string[]): string[] {
  return argv.foreign ? [...args, '--foreign'] : args;
}

function common(yargs: Argv): Argv<VmFlags> {
  return targetOptions(yargs).options({
    json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
    quiet: { type: 'boolean', describe: 'No output but errors' },
  }) as unknown as Argv<VmFlags>;
}

function withId(yargs: Argv): Argv<VmFlags> {
  return common(yargs).positional('id', { type: 'number', describe: 'VM ID', demandOption: true }) as unknown as Argv<VmFlags>;
}

function power(action: 'start' | 'stop' | 'shutdown' | 'reboot', describe: string): CommandModule<object, VmFlags> {
  return {
    command: `${action} <id>`,
    describe,
    builder: (yargs) => {
      const built = withId(yargs).options({ timeout: { type: 'number', describe: 'Seconds to wait for the state [default: 60]' }, ...FOREIGN_OPTION });
      const force = { shutdown: 'Stop the VM if it has not shut down within --timeout', reboot: 'Stop and start the VM if it has not shut down within --timeout' } as const;
      return (action === 'shutdown' || action === 'reboot' ? built.option('force', { type: 'boolean', describe: force[action] }) : built) as Argv<VmFlags>;
    },
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
      withOps(argv, async ({ run }) => {
        const args = ['power', action, String(argv.id)];
        if (argv.timeout !== undefined) args.push('--timeout', String(argv.timeout));
        if (argv.force) args.push('--force');
        finish(argv, await run(withForeign(argv, args)), powerSchema, (data) =>
          data.changed
            ? `${vmLabel(data)} is ${data.state} (node ${data.node})${data.forced ? `: it did not shut down in time and was stopped${data.op === 'reboot' ? ' and started again' : ''}` : ''}.\n`
            : `${vmLabel(data)} was already ${data.state}: nothing to do.\n`,
        );
      }),
    ),
  };
}

function configText(view: { config: Record<string, string>; pending: Record<string, string | null> }): string {
  const lines = Object.keys(view.config).sort().map((key) => `${key}: ${view.config[key]}`);
  const pending = Object.keys(view.pending).sort();
  if (pending.length > 0) lines.push('', '[PENDING] (applied at the next reboot)', ...pending.map((key) => `${key}: ${view.pending[key] ?? '(deleted)'}`));
  return `${lines.join('\n')}\n`;
}

async function deleteHandler(argv: ArgumentsCamelCase<VmFlags>): Promise<void> {
  const interactive = !argv.yes && !argv.json && Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!argv.yes && !interactive) {
    throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `deleting VM ${argv.id} needs --yes (or a terminal to type its name)` });
  }
  await withOps(argv, async ({ run }) => {
    const args = ['delete', String(argv.id), '--yes'];
    if (interactive) {
      const status = await run(['status', String(argv.id)]);
      if (!status.outcome.ok) return fail(argv, status.outcome, status.stats);
      const vm = parseData(statusSchema, status.outcome.data[0], 'result');
      if (!(await confirmByName(vm.id, vm.name, vm.linus))) {
        throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `the name typed is not '${vm.name}': VM ${vm.id} was not deleted` });
      }
      args.push('--expect-name', vm.name);
    }
    if (argv.stop) args.push('--stop');
    if (argv.timeout !== undefined) args.push('--timeout', String(argv.timeout));
    finish(argv, await run(withForeign(argv, args)), deleteSchema, (data) =>
      `${vmLabel(data)} deleted${data.stopped ? ' (stopped first)' : ''}; volumes removed: ${data.volumes.join(', ') || 'none'}.\n`,
    );
  });
}

async function cloneHandler(argv: ArgumentsCamelCase<VmFlags>): Promise<void> {
  const keys = argv.sshKey === undefined ? undefined : readPublicKeys(argv.sshKey);
  const args = cloneArgs(Number(argv.templateId), argv, keys);
  await withOpsTarget(argv, async ({ resolved, script, nodeAddresses }) => {
    const tty = Boolean(process.stderr.isTTY) && !argv.json;
    const onEvent = progressRenderer({ quiet: Boolean(argv.quiet) || Boolean(argv.json), tty, write: (text) => process.stderr.write(text) });
    const { outcome, stats } = await cloneVm({ ssh: resolved.ssh, script, remoteDir: resolved.target.remoteDir, nodeAddresses, onEvent }, args);
    if (tty && !argv.quiet) process.stderr.write('\r\x1b[2K');
    const { warnings } = outcome;
    if (argv.json) process.stdout.write(outcomeJson(outcome, { stats, warnings }));
    else {
      printWarnings(warnings);
      if (!argv.quiet || !outcome.ok) (outcome.ok ? process.stdout : process.stderr).write(summarize(outcome, 'Clone'));
    }
    if (!outcome.ok) process.exitCode = outcome.error.exitCode;
  });
}

// What `vm set` changes; vm.sh set takes each as --<key> <value>.
const SET_KEYS = ['cores', 'memory', 'name', 'description', 'tags'] as const;

const subcommands: CommandModule<object, VmFlags>[] = [
  {
    command: 'list',
    describe: 'Every VM of the cluster: node, status, cores, memory, disk, IP (guest agent) and whether linus made it',
    builder: (yargs) => common(yargs),
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
      withOps(argv, async ({ run }) => {
        const { outcome, stats } = await run(['list']);
        if (!outcome.ok) return fail(argv, outcome, stats);
        const vms = outcome.data.map((row) => parseData(listRowSchema, row, 'result'));
        if (argv.json) process.stdout.write(`${JSON.stringify({ ok: true, vms, warnings: outcome.warnings, stats: statsJson(stats) })}\n`);
        else if (!argv.quiet) process.stdout.write(listText(vms));
      }),
    ),
  },
  {
    command: 'status <id>',
    describe: 'Power state, lock, template flag and owner of one VM',
    builder: (yargs) => withId(yargs),
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
      withOps(argv, async ({ run }) =>
        finish(argv, await run(['status', String(argv.id)]), statusSchema, (data) =>
          `${vmLabel(data)} on node ${data.node}: ${data.state}${data.lock ? `, locked (${data.lock})` : ''}${data.template ? ', template' : ''}, ${data.linus ? 'created by linus' : 'not created by linus'}\n`,
        ),
      ),
    ),
  },
  power('start', 'Start a VM and wait until it runs'),
  power('stop', 'Stop a VM at once (like pulling the plug) and wait until it is stopped'),
  power('shutdown', 'Shut a VM down cleanly (ACPI or guest agent); --force stops it after --timeout'),
  power('reboot', 'Reboot a running VM and wait until it runs again; --force stops and starts it if the shutdown times out'),
  {
    command: 'config <id>',
    describe: 'Print the VM config, and its changes pending until the next reboot',
    builder: (yargs) => withId(yargs),
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
      withOps(argv, async ({ run }) => finish(argv, await run(['config', String(argv.id)]), configSchema, (data) => configText(data.view))),
    ),
  },
  {
    command: 'set <id>',
    describe: 'Change cores, memory, name, description or tags (a running VM keeps cores/memory pending until reboot)',
    builder: (yargs) =>
      withId(yargs).options({
        cores: { type: 'number', describe: 'CPU cores (1-128)' },
        memory: { type: 'number', describe: `Memory in MiB (${RANGES.vmMemory.min}-${RANGES.vmMemory.max})` },
        name: { type: 'string', describe: 'New name (a DNS label)' },
        description: { type: 'string', describe: 'Description (one line)' },
        tags: { type: 'string', describe: "Tags, ';'-separated (linus' own ownership tags are kept)" },
        ...FOREIGN_OPTION,
      }) as unknown as Argv<VmFlags>,
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) => {
      const given = SET_KEYS.filter((key) => argv[key] !== undefined);
      if (given.length === 0) {
        throw new LinusError({ code: 'INVALID_SPEC', message: 'nothing to set: give --cores, --memory, --name, --description or --tags', remediation: 'Fix the named value and run again; nothing was sent to the host.' });
      }
      return withOps(argv, async ({ run }) => {
        const args = ['set', String(argv.id), ...given.flatMap((key) => [`--${key}`, String(argv[key])])];
        finish(argv, await run(withForeign(argv, args)), setSchema, (data) => {
          if (!data.changed && data.pending.length === 0) return `${vmLabel(data)} already has these settings: nothing to do.\n`;
          const applied = data.applied.length > 0 ? `applied: ${data.applied.join(', ')}` : '';
          const pending = data.pending.length > 0 ? `pending until the next reboot: ${data.pending.join(', ')}` : '';
          return `${vmLabel(data)}: ${[applied, pending].filter(Boolean).join('; ')}\n`;
        });
      });
    }),
  },
  {
    command: 'resize <id>',
    describe: 'Grow a disk (never shrink) and verify the new size from the config',
    builder: (yargs) =>
      withId(yargs).options({
        size: { type: 'string', demandOption: true, describe: 'New size in GiB (40) or growth (+10)' },
        disk: { type: 'string', describe: 'Disk [default: scsi0]' },
        ...FOREIGN_OPTION,
      }) as unknown as Argv<VmFlags>,
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
      withOps(argv, async ({ run }) => {
        const args = ['resize', String(argv.id), '--size', String(argv.size)];
        if (argv.disk !== undefined) args.push('--disk', argv.disk);
        finish(argv, await run(withForeign(argv, args)), resizeSchema, (data) =>
          data.changed
            ? `${vmLabel(data)} ${data.disk}: ${gib(data.beforeBytes)} -> ${gib(data.sizeBytes)}\n`
            : `${vmLabel(data)} ${data.disk} is already ${gib(data.sizeBytes)}: nothing to do.\n`,
        );
      }),
    ),
  },
  {
    command: 'delete <id>',
    describe: 'Destroy a VM with its disks and cloud-init volume (needs --yes or a typed confirmation)',
    builder: (yargs) =>
      withId(yargs).options({
        yes: { type: 'boolean', describe: 'Do not ask' },
        stop: { type: 'boolean', describe: 'Stop a running VM first (otherwise it is refused)' },
        timeout: { type: 'number', describe: 'Seconds to wait for the stop [default: 60]' },
        ...FOREIGN_OPTION,
      }) as unknown as Argv<VmFlags>,
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(deleteHandler),
  },
  {
    command: 'clone <template-id>',
    describe: 'Clone a template (full or --linked), set cloud-init user/key/IP, start it and wait until SSH answers',
    builder: (yargs) =>
      common(yargs)
        .positional('template-id', { type: 'number', demandOption: true, describe: 'VM ID of the template' })
        .options({
          name: { type: 'string', demandOption: true, describe: 'Name of the new VM (a DNS label)' },
          linked: { type: 'boolean', describe: 'Linked clone (shares the template disk; default: full copy)' },
          'vm-user': { type: 'string', describe: "Cloud-init user [default: the template's]" },
          'ssh-key': { type: 'string', describe: "Public key file for the user [default: the template's keys]" },
          ip: { type: 'string', describe: "'dhcp' or A.B.C.D/N [default: the template's]" },
          gateway: VM_OPTIONS.gateway,
          timeout: VM_OPTIONS.timeout,
          force: { type: 'boolean', describe: 'Go ahead past 90 % of the node memory or storage' },
        }) as unknown as Argv<VmFlags>,
    handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(cloneHandler),
  },
];

export const vmCommand: CommandModule<object, VmFlags> = {
  command: 'vm <command>',
  describe: describeOf('vm'),
  builder: (yargs: Argv) => {
    let built = yargs;
    for (const sub of subcommands) built = built.command(sub as CommandModule);
    return built.demandCommand(1, 'Name a vm command.') as unknown as Argv<VmFlags>;
  },
  handler: () => undefined,
};
