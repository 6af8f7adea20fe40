import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { commandSources } from '../../config/load.js';
import { defaultConnect } from '../../host/run.js';
import { attachJob } from '../../jobs/attach.js';
import { listRuns, type RunRecord } from '../../jobs/runs.js';
import { LinusError } from '../../protocol/errors.js';
import { isProgressLog } from '../../protocol/records.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { listingFormat, listingOptions, writeListing } from '../listing.js';
import { hostLinesFor, progressFor } from '../render/progress.js';
import { writeCloneResult } from '../render/provision.js';
import { hostOptions, OUTPUT_OPTIONS } from '../target-options.js';
import { withTarget, type ResolvedTarget } from '../target.js';
import { describeOf, type FlagsOf } from './index.js';

// `linus wait`, `linus logs` and `linus runs`: host jobs picked up from any terminal. A job runs
// on the host detached from the connection that started it (shell/lib/job.sh), so any linus with
// the same target and remote dir can follow it by its run id.

const RUN_ID = /^[a-z0-9][a-z0-9-]{5,40}$/;

const withRunId = (yargs: Argv) =>
  hostOptions(yargs)
    .options(OUTPUT_OPTIONS)
    .positional('run-id', { type: 'string', demandOption: true, describe: "The run id a provision printed (or 'linus runs' lists)" });

const logsBuilder = (yargs: Argv) =>
  hostOptions(yargs)
    .positional('run-id', { type: 'string', demandOption: true, describe: "The run id a provision printed (or 'linus runs' lists)" })
    .options({ follow: { alias: 'f', type: 'boolean', describe: 'Keep following until the job ends' } })
    .epilogue('The host log is what logs prints; -v (or -vv) adds every other line, the LINUS_ protocol records too; -q leaves out the notes on stderr.');

function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) throw new LinusError({ code: 'INVALID_SPEC', message: `'${runId}' is not a run id (lowercase letters, digits and hyphens, 6 to 41 characters)`, remediation: "Run 'linus runs' for the run ids on the host." });
  return runId;
}

async function onHost<T>(cli: CliContext, argv: Parameters<typeof withTarget>[0], fn: (resolved: ResolvedTarget) => Promise<T>): Promise<T> {
  return withTarget(argv, commandSources(argv, cli.io.env), fn);
}

const attachDeps = (resolved: ResolvedTarget) => ({ connect: () => defaultConnect(resolved.ssh), provisioner: loadProvisioner('proxmox'), remoteDir: resolved.target.remoteDir });

// Ctrl-C only stops following: the job goes on and can be picked up again.
function detachOnInterrupt(cli: CliContext, runId: string): () => void {
  return cli.io.onInterrupt(() => {
    cli.io.stderr.write(`\nlinus: stopped following; run ${runId} goes on on the host. Pick it up again with: linus wait ${runId}\n`);
    cli.io.exit(130);
  });
}

async function waitRun(cli: CliContext, argv: ArgumentsCamelCase<FlagsOf<typeof withRunId>>): Promise<void> {
  const runId = checkRunId(argv.runId);
  const json = Boolean(argv.json);
  const quiet = Boolean(argv.quiet);
  await onHost(cli, argv, async (resolved) => {
    const progress = await progressFor(cli, argv);
    const off = detachOnInterrupt(cli, runId);
    try {
      const { outcome, stats } = await attachJob({ ...attachDeps(resolved), onEvent: (event) => progress.event(event, runId) }, runId, true);
      if (outcome === undefined) throw new LinusError({ code: 'INTERNAL', message: `run ${runId} did not report an end` });
      progress.stop(outcome.ok);
      writeCloneResult(cli, { json, quiet }, { outcome, stats: { ...stats, reconnects: 0, attempts: 0 } }, 'Provision');
    } finally {
      off();
      progress.stop(false);
    }
  });
}

async function logsRun(cli: CliContext, argv: ArgumentsCamelCase<FlagsOf<typeof logsBuilder>>): Promise<void> {
  const runId = checkRunId(argv.runId);
  const verbose = (argv.verbose ?? 0) > 0;
  const quiet = Boolean(argv.quiet);
  await onHost(cli, argv, async (resolved) => {
    const { stdout } = cli.io;
    // The host's `wait` ends with its own records (offset, job state, final block): only -v shows them.
    // Without -v: the job's own lines, not the records, nor the host's error line for the result.
    const onLine = (line: string) => {
      if (verbose || (!line.startsWith('LINUS_') && isProgressLog(line.replace(/^linus: /, '')))) stdout.write(`${line}\n`);
    };
    const off = argv.follow ? detachOnInterrupt(cli, runId) : () => undefined;
    try {
      const { outcome } = await attachJob({ ...attachDeps(resolved), onEvent: () => undefined, onLine }, runId, Boolean(argv.follow));
      if (outcome && !outcome.ok && outcome.error.code === 'JOB_NOT_FOUND') throw new LinusError({ code: outcome.error.code, message: outcome.error.message, remediation: outcome.error.remediation });
      if (!verbose && outcome?.ok && outcome.kind === 'success' && outcome.vm.password !== undefined) {
        cli.io.stderr.write(`linus: password for ${outcome.vm.user} (shown once, not stored by linus): ${outcome.vm.password}\n`);
      }
      if (!outcome && !quiet) cli.io.stderr.write(`linus: run ${runId} is still running (linus logs ${runId} --follow, or linus wait ${runId})\n`);
    } finally {
      off();
    }
  });
}

const runsBuilder = (yargs: Argv) => listingOptions(hostOptions(yargs));

function runLine(run: RunRecord): string {
  const state = run.state === 'finished' ? `finished ${run.result ?? ''}`.trim() : run.state;
  const started = new Date(run.startedAt * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return [run.runId.padEnd(26), state.padEnd(24), String(run.vmId ?? '-').padEnd(6), (run.name ?? '-').padEnd(20), started].join(' ').trimEnd();
}

function runsTable(runs: RunRecord[]): string {
  return [['RUN ID'.padEnd(26), 'STATE'.padEnd(24), 'VM'.padEnd(6), 'NAME'.padEnd(20), 'STARTED'].join(' '), ...runs.map(runLine)].map((line) => `${line}\n`).join('');
}

async function runsRun(cli: CliContext, argv: ArgumentsCamelCase<FlagsOf<typeof runsBuilder>>): Promise<void> {
  const format = listingFormat(argv);
  await onHost(cli, argv, async (resolved) => {
    const onEvent = await hostLinesFor(cli, argv);
    const { runs, stats } = await listRuns({ connect: () => defaultConnect(resolved.ssh), provisioner: loadProvisioner('proxmox'), remoteDir: resolved.target.remoteDir, onEvent });
    // -q: the run ids, one a line.
    if (argv.quiet && format === 'table') return void cli.io.stdout.write(runs.map((run) => `${run.runId}\n`).join(''));
    if (runs.length === 0 && format === 'table') return void cli.io.stderr.write(`linus: no runs under ${resolved.target.remoteDir}/jobs\n`);
    writeListing(cli, format, { ok: true, runs, stats }, () => runsTable(runs));
  });
}

export function waitCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof withRunId>> {
  return { command: 'wait <run-id>', describe: describeOf('wait'), builder: withRunId, handler: withJsonErrors(cli, (argv: ArgumentsCamelCase<FlagsOf<typeof withRunId>>) => waitRun(cli, argv)) };
}

export function logsCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof logsBuilder>> {
  return { command: 'logs <run-id>', describe: describeOf('logs'), builder: logsBuilder, handler: (argv: ArgumentsCamelCase<FlagsOf<typeof logsBuilder>>) => logsRun(cli, argv) };
}

export function runsCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof runsBuilder>> {
  return { command: 'runs', describe: describeOf('runs'), builder: runsBuilder, handler: withJsonErrors(cli, (argv: ArgumentsCamelCase<FlagsOf<typeof runsBuilder>>) => runsRun(cli, argv)) };
}
