import { randomBytes } from 'node:crypto';
import { LinusError, toLinusError } from '../protocol/errors.js';
import { isFinal, toOutcome, type ProvisionOutcome, type Transcript } from '../protocol/transcript.js';
import { cachedRunCommand, type ProvisionerFile } from '../provisioners/remote.js';
import { runProvisioner } from '../provisioners/run-cached.js';
import type { Connection } from '../ssh/connection.js';
import { cleanupRun } from './cleanup.js';
import { streamCommand, type ProgressEvent } from './follow.js';
import { DEFAULT_RETRY, backoffDelay, isTransient, sleep, type RetryPolicy } from './retry.js';

export interface ProvisionDeps {
  // A fresh connection per call: reconnects after a drop go through here too.
  connect: () => Promise<Connection>;
  provisioner: ProvisionerFile;
  remoteDir: string;
  // Every event carries the run id of the attempt it belongs to.
  onEvent: (event: ProgressEvent, runId: string) => void;
  // Aborted on Ctrl-C: the host job is cancelled and its rollback awaited.
  signal?: AbortSignal;
  retry?: RetryPolicy;
  // How long to keep reconnecting to follow a started job before giving up on it.
  followBudgetMs?: number;
  maxCommandChars?: number;
  newRunId?: () => string;
  // Seconds one `wait` follows the job before it returns and is asked again (default 30).
  waitSeconds?: number;
}

export interface ProvisionStats {
  execs: number;
  uploads: number;
  reconnects: number;
  attempts: number;
}

type AttemptDeps = Omit<ProvisionDeps, 'onEvent'> & { onEvent: (event: ProgressEvent) => void };

export function newRunId(): string {
  return `r${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

const WAIT_SECONDS = 30;

// One attempt with one run id: run (uploading first if needed), follow through drops, cancel on abort.
async function attempt(deps: AttemptDeps, runArgs: string[], runId: string, stats: ProvisionStats): Promise<ProvisionOutcome> {
  const seen = { lines: 0 };
  const exec = async (connection: Connection, command: string, skip = 0) => {
    stats.execs += 1;
    return streamCommand(connection, command, deps.onEvent, { skip, seen });
  };
  const job = (args: string[]) => cachedRunCommand(deps.remoteDir, deps.provisioner, args);
  const run = ['run', '--run-id', runId, ...runArgs];
  let connection: Connection | undefined;
  let live = false;
  let cancelled: Promise<ProvisionOutcome> | undefined;
  // Cancelling goes over a second channel; the job then ends the running `run` with its own block.
  const cancel = (): Promise<ProvisionOutcome> => {
    cancelled ??= (async () => {
      deps.onEvent({ kind: 'cancel' });
      if (connection && live) return toOutcome((await exec(connection, job(['cancel', runId, '--remote-dir', deps.remoteDir]))).transcript);
      const fresh = await deps.connect();
      try {
        return toOutcome((await exec(fresh, job(['cancel', runId, '--remote-dir', deps.remoteDir]))).transcript);
      } finally {
        await fresh.close().catch(() => undefined);
      }
    })();
    return cancelled;
  };
  const onAbort = () => void cancel().catch(() => undefined);
  try {
    if (deps.signal?.aborted) throw new LinusError({ code: 'CANCELLED', message: 'cancelled before anything was sent to the host' });
    connection = await deps.connect();
    live = true;
    void connection.closed.then(() => {
      live = false;
    });
    deps.signal?.addEventListener('abort', onAbort, { once: true });
    const open = connection;
    const { result } = await runProvisioner(deps, run, (command) => exec(open, command), (commands) => {
      stats.uploads += 1;
      deps.onEvent({ kind: 'upload', commands });
    });
    if (cancelled) return await cancelled;
    if (isFinal(result.transcript)) return toOutcome(result.transcript);
    throw new LinusError({ code: 'CONNECTION_FAILED', message: 'the run command ended before the job reported a result' });
  } catch (error) {
    const linusError = toLinusError(error);
    if (cancelled) return await cancelled;
    if (linusError.code !== 'CONNECTION_FAILED') throw linusError;
    // The host job runs detached: follow it on a new connection instead of starting over.
    return follow(deps, runId, linusError, stats, exec, job, seen.lines, cancel);
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    await connection?.close().catch(() => undefined);
  }
}

async function follow(
  deps: AttemptDeps,
  runId: string,
  cause: LinusError,
  stats: ProvisionStats,
  exec: (connection: Connection, command: string, skip?: number) => Promise<{ transcript: Transcript }>,
  job: (args: string[]) => string,
  shown: number,
  cancelOnAbort: () => Promise<ProvisionOutcome>,
): Promise<ProvisionOutcome> {
  const budget = Date.now() + (deps.followBudgetMs ?? 10 * 60_000);
  let offset: number | undefined;
  let vmId: number | undefined;
  const policy = deps.retry ?? DEFAULT_RETRY;
  let lastError = cause;
  for (let reconnect = 0; Date.now() < budget; reconnect += 1) {
    const delayMs = backoffDelay(Math.min(reconnect, 4), policy);
    deps.onEvent({ kind: 'reconnect', attempt: reconnect + 1, delayMs, reason: lastError.message });
    await sleep(delayMs, deps.signal);
    if (deps.signal?.aborted) return cancelOnAbort();
    stats.reconnects += 1;
    let connection: Connection | undefined;
    try {
      connection = await deps.connect();
      for (;;) {
        // The first wait re-reads the log from 0 (lines already shown are skipped); each later
        // one, after this or another reconnect, resumes at the offset the previous wait reported.
        const args = ['wait', runId, '--remote-dir', deps.remoteDir, '--offset', String(offset ?? 0), '--max-seconds', String(deps.waitSeconds ?? WAIT_SECONDS)];
        const result = await exec(connection, job(args), offset === undefined ? shown : 0);
        vmId = result.transcript.vmId ?? vmId;
        if (isFinal(result.transcript)) return toOutcome({ ...result.transcript, ...(vmId === undefined ? {} : { vmId }) });
        offset = result.transcript.offset ?? offset;
        if (deps.signal?.aborted) return cancelOnAbort();
      }
    } catch (error) {
      const linusError = toLinusError(error);
      if (linusError.code !== 'CONNECTION_FAILED') throw linusError;
      lastError = linusError;
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new LinusError({ code: 'CONNECTION_FAILED', message: `lost the connection while run ${runId} was running and could not reconnect: ${lastError.message}`, remediation: `The job finishes or rolls back on the host by itself. 'linus gc --dry-run' later shows anything run ${runId} left.` });
}

// After a failed run that had claimed a VM: make sure nothing of it is left, even if the
// host-side rollback could not finish. Costs one exec, on failures only.
async function confirmCleanup(deps: ProvisionDeps, runId: string, stats: ProvisionStats): Promise<void> {
  try {
    const connection = await deps.connect();
    try {
      stats.execs += 1;
      const report = await cleanupRun(connection, deps.provisioner, deps.remoteDir, runId);
      for (const vmId of report.cleaned) deps.onEvent({ kind: 'log', line: `removed VM ${vmId} that run ${runId} left behind` }, runId);
    } finally {
      await connection.close().catch(() => undefined);
    }
  } catch (error) {
    deps.onEvent({ kind: 'log', line: `could not confirm the clean-up of run ${runId}: ${toLinusError(error).message}; 'linus gc' removes leftovers` }, runId);
  }
}

// Provisions one VM: attempts with fresh run ids while failures are transient. An attempt's
// rollback has finished when its final block arrives, so the next attempt never overlaps it.
export async function provision(deps: ProvisionDeps, runArgs: string[]): Promise<{ outcome: ProvisionOutcome; stats: ProvisionStats }> {
  const policy = deps.retry ?? DEFAULT_RETRY;
  const stats: ProvisionStats = { execs: 0, uploads: 0, reconnects: 0, attempts: 0 };
  for (let index = 0; ; index += 1) {
    const runId = (deps.newRunId ?? newRunId)();
    stats.attempts += 1;
    let outcome: ProvisionOutcome;
    try {
      outcome = await attempt({ ...deps, onEvent: (event) => deps.onEvent(event, runId) }, runArgs, runId, stats);
    } catch (error) {
      const linusError = toLinusError(error);
      if (!linusError.transient || index + 1 >= policy.attempts || deps.signal?.aborted) throw linusError;
      outcome = { ok: false, kind: 'failure', runId, error: linusError.toJSON(), steps: [], warnings: [], logs: [] };
    }
    if (!outcome.ok && outcome.vmId !== undefined) await confirmCleanup(deps, runId, stats);
    if (outcome.ok || !isTransient(outcome.error.code) || index + 1 >= policy.attempts || deps.signal?.aborted) return { outcome, stats };
    const delayMs = backoffDelay(index, policy);
    deps.onEvent({ kind: 'retry', attempt: index + 2, delayMs, code: outcome.error.code }, runId);
    await sleep(delayMs, deps.signal);
  }
}
