import fs from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { Fleet } from '../../config/fleet-file.js';
import { commandSources } from '../../config/load.js';
import { fleetNameSchema } from '../../config/fleet-file.js';
import { applyFleetPlan } from '../../fleet/apply.js';
import { importFleet } from '../../fleet/import.js';
import { applyJson, importJson, planJson } from '../../fleet/json.js';
import { fleetCompletion, keysOf, loadFleet, withFleetTarget } from '../../fleet/load.js';
import { hasChanges, planRefusal, type FleetPlan } from '../../fleet/plan.js';
import { readPlan } from '../../fleet/state.js';
import type { OpStats, OpsDeps } from '../../ops/run-op.js';
import { PLAN_CHANGES_EXIT_CODE } from '../../protocol/codes.js';
import { LinusError } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { canPrompt, confirmTyped } from '../prompt.js';
import { applyText, importText, planText } from '../render/fleet.js';
import { colorEnabled, painter } from '../color.js';
import { levelOf, printWarnings, progressRenderer, type Progress } from '../render/progress.js';
import { hostOptions, targetOptions, type TargetFlags } from '../target-options.js';
import { withOpsTarget } from '../ops-target.js';
import type { ResolvedTarget } from '../target.js';
import { describeOf, type FlagsOf } from './index.js';

// linus plan, apply and import (docs/fleets.md): a fleet file against the cluster.

const FILE_OPTION = { file: { alias: 'f', type: 'string', demandOption: true, describe: 'The fleet file (YAML, docs/fleets.md)' } } as const;
const PRUNE_OPTION = { prune: { type: 'boolean', describe: 'Delete the VMs with the fleet tag that the file no longer lists (never a VM without the tag)' } } as const;
const JSON_OPTION = { json: { type: 'boolean', describe: 'Print one JSON object on stdout' } } as const;

const planBuilder = (yargs: Argv) =>
  targetOptions(yargs)
    .options({ ...FILE_OPTION, ...PRUNE_OPTION, ...JSON_OPTION, 'detailed-exitcode': { type: 'boolean', describe: `Exit ${PLAN_CHANGES_EXIT_CODE} when the plan has changes, 0 when it has none (an error keeps its own code)` } })
    .example('$0 plan -f lab.yaml --profile sandbox', 'What apply would do to the cluster, read in one SSH exec');

const applyBuilder = (yargs: Argv) =>
  targetOptions(yargs)
    .options({
      ...FILE_OPTION,
      ...PRUNE_OPTION,
      ...JSON_OPTION,
      yes: { type: 'boolean', describe: 'Apply without asking' },
      'allow-replace': { type: 'boolean', describe: 'Replace (delete and create anew, disk and all) VMs whose OS, image, storage, network or a shrunk disk differ' },
      reboot: { type: 'boolean', describe: 'Reboot VMs whose cores or memory change waits for a reboot (else they are reported as pending)' },
      parallel: { type: 'number', describe: 'VMs worked on at once [default: 4]' },
      force: { type: 'boolean', describe: 'Create past 90 % of the node memory or storage' },
    })
    .example('$0 apply -f lab.yaml --profile sandbox --yes', 'Create, update and (with --prune) delete until the cluster matches the file');

const importBuilder = (yargs: Argv) =>
  hostOptions(yargs)
    .positional('vm', { type: 'string', array: true, describe: 'VM IDs or names to adopt into the fleet (none: write the file of the VMs it has)' })
    .options({
      fleet: { type: 'string', demandOption: true, describe: 'The fleet the VMs join: they get the tag linus-fleet-<name>' },
      file: { alias: 'f', type: 'string', describe: 'Write the fleet file here (default: stdout); an existing file is not overwritten' },
      ...JSON_OPTION,
    })
    .example('$0 import --fleet lab web01 db01 105 -f lab.yaml', 'Bring existing VMs, linus-made or not, under the fleet file lab.yaml');

type PlanFlags = ArgumentsCamelCase<FlagsOf<typeof planBuilder>>;
type ApplyFlags = ArgumentsCamelCase<FlagsOf<typeof applyBuilder>>;
type ImportFlags = ArgumentsCamelCase<FlagsOf<typeof importBuilder>>;

// The operations report through the apply's own lines ("[web01] set cores 2 -> 4"), not the host's log.
// Reads the file (its errors come before any connection), resolves the target with the file's
// target: block, reads it again with the VM settings from elsewhere, and plans (one exec).
async function withPlan(cli: CliContext, argv: TargetFlags & { file: string; prune?: boolean | undefined; json?: boolean | undefined }, fn: (context: { fleet: Fleet; plan: FleetPlan; resolved: ResolvedTarget; ops: OpsDeps; stats: OpStats }) => Promise<void>): Promise<void> {
  const { env } = cli.io;
  const draft = loadFleet({ file: argv.file }, env);
  const sources = withFleetTarget(commandSources(argv, env), draft);
  await withOpsTarget(cli, argv, async (ops, resolved) => {
    const fleet = loadFleet({ file: argv.file }, env, fleetCompletion(sources, resolved.specDefaults));
    const { plan, warnings, stats } = await readPlan(ops, fleet, { prune: Boolean(argv.prune), place: resolved.target });
    if (!argv.json) printWarnings(cli, warnings);
    await fn({ fleet, plan, resolved, ops, stats });
  }, sources);
}

async function runPlan(cli: CliContext, argv: PlanFlags): Promise<void> {
  await withPlan(cli, argv, async ({ plan, stats }) => {
    const refusal = planRefusal(plan, { allowReplace: true });
    cli.io.stdout.write(argv.json ? `${JSON.stringify(planJson(plan, refusal, { stats }))}\n` : planText(plan));
    if (refusal) {
      if (!argv.json) cli.io.stderr.write(`linus: apply would refuse this plan: ${refusal.message} [${refusal.code}]\n  ${refusal.remediation}\n`);
      cli.exitCode = refusal.exitCode;
    } else if (argv.detailedExitcode && hasChanges(plan)) cli.exitCode = PLAN_CHANGES_EXIT_CODE;
  });
}

// Printed when the second Ctrl-C stops waiting for the rollbacks.
const STOPPED_WAITING = "\nlinus: stopped waiting. Host jobs may still be rolling back; what they leave is tagged 'linus' and 'linus-<run id>': 'linus gc --older-than 0 --yes' removes it. Run the apply again to finish the fleet.\n";

async function runApply(cli: CliContext, argv: ApplyFlags): Promise<void> {
  const { io } = cli;
  const json = Boolean(argv.json);
  const parallel = argv.parallel ?? 4;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--parallel must be a whole number from 1 to 32, got ${argv.parallel}`, remediation: 'Fix the named option and run again; nothing was sent to the host.' });
  }
  const interactive = !argv.yes && !json && canPrompt(io);
  await withPlan(cli, argv, async ({ fleet, plan, resolved, ops }) => {
    const refusal = planRefusal(plan, { allowReplace: Boolean(argv.allowReplace) });
    if (!json) io.stdout.write(planText(plan));
    if (refusal) throw refusal;
    const reboots = Boolean(argv.reboot) && plan.changes.some((change) => change.pending !== undefined);
    if (!hasChanges(plan) && !reboots) {
      if (json) io.stdout.write(`${JSON.stringify(applyJson(plan, { vms: [], warnings: [], stats: { execs: 0, uploads: 0, place: { execs: 0, uploads: 0 } } }))}\n`);
      else io.stdout.write('No changes: the cluster matches the file.\n');
      return;
    }
    // Every key is read, and every VM to create checked, before anything is changed.
    const keys = new Map(plan.changes.filter((change) => change.wanted && (change.action === 'create' || change.action === 'replace')).map((change) => [change.wanted, keysOf(change.wanted as NonNullable<typeof change.wanted>)]));
    if (!argv.yes) {
      if (!interactive) throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `applying fleet ${fleet.name} needs --yes (or a terminal to confirm on)`, remediation: "Check the plan ('linus plan -f FILE'), then pass --yes." });
      if (!(await confirmTyped(io, `Apply these changes to fleet ${fleet.name}?`, 'yes'))) throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: 'not confirmed: nothing was changed' });
    }
    const controller = new AbortController();
    let interrupts = 0;
    const offInterrupt = io.onInterrupt(() => {
      interrupts += 1;
      if (interrupts === 1) {
        io.stderr.write('\nlinus: interrupted: no new work starts; the VMs being created roll back (Ctrl-C again to stop waiting)\n');
        return controller.abort();
      }
      io.stderr.write(STOPPED_WAITING);
      io.exit(130);
    });
    // Each VM's lines name it; at the default level its steps, with -v its whole log (also there
    // for 'linus logs <run id>').
    const paint = painter(colorEnabled(io.stderr, io.env, cli.color));
    const progress = (name: string) => progressRenderer({ level: levelOf(argv), out: io.stderr, tty: false, paint, prefix: `[${name}] ` });
    const renderers = new Map<string, Progress>();
    try {
      const result = await applyFleetPlan(
        {
          ops,
          create: {
            ssh: resolved.ssh,
            nodeAddresses: ops.nodeAddresses,
            onEvent: (name, event, runId) => {
              if (json) return;
              if (!renderers.has(name)) renderers.set(name, progress(name));
              renderers.get(name)?.event(event, runId);
            },
            onPlaced: (warnings) => {
              if (!json) printWarnings(cli, warnings);
            },
          },
          signal: controller.signal,
          onStep: (name, text) => {
            if (!json) io.stderr.write(`linus: [${name}] ${text}\n`);
          },
        },
        plan,
        { parallel, reboot: Boolean(argv.reboot), force: Boolean(argv.force), target: resolved.target, keysOf: (vm) => keys.get(vm) },
      );
      const failed = result.vms.find((vm) => !vm.ok);
      if (json) io.stdout.write(`${JSON.stringify(applyJson(plan, result))}\n`);
      else {
        printWarnings(cli, result.warnings);
        io.stdout.write(`\n${applyText(result)}`);
      }
      if (failed) cli.exitCode = failed.error?.exitCode ?? 1;
    } finally {
      offInterrupt();
    }
  });
}

async function runImport(cli: CliContext, argv: ImportFlags): Promise<void> {
  const { io } = cli;
  const fleet = fleetNameSchema.safeParse(argv.fleet);
  if (!fleet.success) throw new LinusError({ code: 'INVALID_SPEC', message: `--fleet: ${fleet.error.issues[0]?.message}`, remediation: 'Fix the named option and run again; nothing was sent to the host.' });
  if (argv.file !== undefined && fs.existsSync(argv.file)) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--file ${argv.file} exists: linus import does not overwrite it`, remediation: 'Pick another file, or move the old one away first; nothing was sent to the host.' });
  }
  const refs = (argv.vm ?? []).map(String);
  const json = Boolean(argv.json);
  await withOpsTarget(cli, argv, async (ops) => {
    const result = await importFleet(ops, fleet.data, refs, { onStep: (name, text) => void (json ? undefined : io.stderr.write(`linus: [${name}] ${text}\n`)) });
    if (argv.file !== undefined) fs.writeFileSync(argv.file, result.yaml, { flag: 'wx' });
    if (json) io.stdout.write(`${JSON.stringify(importJson(result, argv.file))}\n`);
    else {
      io.stderr.write(importText(result));
      if (argv.file === undefined) io.stdout.write(result.yaml);
      else io.stderr.write(`linus: fleet file written to ${argv.file}; 'linus plan -f ${argv.file}' shows no changes\n`);
    }
    const failed = result.vms.find((vm) => !vm.ok);
    if (failed) cli.exitCode = failed.error?.exitCode ?? 1;
  });
}

export function planCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof planBuilder>> {
  return { command: 'plan', describe: describeOf('plan'), builder: planBuilder, handler: withJsonErrors(cli, (argv: PlanFlags) => runPlan(cli, argv)) };
}

export function applyCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof applyBuilder>> {
  return { command: 'apply', describe: describeOf('apply'), builder: applyBuilder, handler: withJsonErrors(cli, (argv: ApplyFlags) => runApply(cli, argv)) };
}

export function importCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof importBuilder>> {
  return { command: 'import [vm..]', describe: describeOf('import'), builder: importBuilder, handler: withJsonErrors(cli, (argv: ImportFlags) => runImport(cli, argv)) };
}
