import { randomBytes } from 'node:crypto';
import { runHostScript, type HostEvent } from '../host/run.js';
import { LinusError, toLinusError } from '../protocol/errors.js';
import type { Target, VmSpec } from '../config/spec.js';
import { sshForNode, type NodeAddress } from '../host/nodes.js';
import type { Connect } from '../host/run.js';
import { isFinal, toOutcome, type ErrorReport, type ProvisionOutcome } from '../protocol/transcript.js';
import { jobCancelArgs, jobRunArgs, provisionerArgs, type VmMarks } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection, SshTarget } from '../ssh/connection.js';
import { cleanupRun } from './cleanup.js';
import { followJob } from './follow.js';
import { DEFAULT_RETRY, backoffDelay, isTransient, sleep, type RetryPolicy } from './retry.js';

export type ProgressEvent =
  | HostEvent
  | { kind: 'reconnect'; attempt: number; delayMs: number; reason: string }
  | { kind: 'retry'; attempt: number; delayMs: number; code: string }
  | { kind: 'cancel' }
  // What the driver itself has to say about the run (its clean-up), not a host line.
  | { kind: 'notice'; text: string };

export interface JobDeps {
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

export interface JobStats {
  execs: number;
  uploads: number;
  reconnects: number;
  attempts: number;
}

export function emptyJobStats(): JobStats {
  return { execs: 0, uploads: 0, reconnects: 0, attempts: 0 };
}

// One attempt's view of the deps: its events carry its run id already.
export type AttemptDeps = Omit<JobDeps, 'onEvent'> & { onEvent: (event: ProgressEvent) => void };

export function newRunId(): string {
  return `r${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

// One attempt with one run id: run (uploading first if needed), follow through drops, cancel on abort.
async function attempt(deps: AttemptDeps, runArgs: string[], runId: string, stats: JobStats): Promise<ProvisionOutcome> {
  const seen = { lines: 0 };
  // quiet: the lines are not shown (another channel shows the same ones).
  const exec = async (connection: Connection, args: string[], skip = 0, quiet = false) =>
    runHostScript(connection, deps.provisioner, args, {
      remoteDir: deps.remoteDir,
      skip,
      seen: quiet ? { lines: 0 } : seen,
      ...(deps.maxCommandChars === undefined ? {} : { maxCommandChars: deps.maxCommandChars }),
      onExec: () => (stats.execs += 1),
      onEvent: (event) => {
        if (event.kind === 'upload') stats.uploads += 1;
        if (!quiet || event.kind === 'upload') deps.onEvent(event);
      },
    });
  let connection: Connection | undefined;
  let live = false;
  let cancelled: Promise<ProvisionOutcome> | undefined;
  // Cancelling goes over a second channel; the job then ends the running `run` with its own block.
  const cancel = (): Promise<ProvisionOutcome> => {
    cancelled ??= (async () => {
      deps.onEvent({ kind: 'cancel' });
      const args = jobCancelArgs(runId, deps.remoteDir);
      // While `run` still streams the job's log, the cancel's copy of the same lines is not shown.
      if (connection && live) return toOutcome((await exec(connection, args, 0, true)).transcript);
      const fresh = await deps.connect();
      try {
        return toOutcome((await exec(fresh, args)).transcript);
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
    const { transcript } = await exec(connection, jobRunArgs(runId, runArgs));
    if (cancelled) return await cancelled;
    if (isFinal(transcript)) return toOutcome(transcript);
    throw new LinusError({ code: 'CONNECTION_FAILED', message: 'the run command ended before the job reported a result' });
  } catch (error) {
    const linusError = toLinusError(error);
    if (cancelled) return await cancelled;
    if (linusError.code !== 'CONNECTION_FAILED') throw linusError;
    // The host job runs detached: follow it on a new connection instead of starting over.
    return followJob({ deps, runId, cause: linusError, stats, shown: seen.lines, cancel, exec: async (open, args, skip) => (await exec(open, args, skip)).transcript });
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
    await connection?.close().catch(() => undefined);
  }
}

// After a failed run that had claimed a VM: make sure nothing of it is left, even if the
// host-side rollback could not finish. Costs one exec, on failures only.
async function confirmCleanup(deps: JobDeps, runId: string, stats: JobStats): Promise<void> {
  try {
    const connection = await deps.connect();
    try {
      stats.execs += 1;
      const report = await cleanupRun(connection, deps.provisioner, deps.remoteDir, runId);
      for (const vmId of report.cleaned) deps.onEvent({ kind: 'notice', text: `removed VM ${vmId} that run ${runId} left behind` }, runId);
    } finally {
      await connection.close().catch(() => undefined);
    }
  } catch (error) {
    deps.onEvent({ kind: 'notice', text: `could not confirm the clean-up of run ${runId}: ${toLinusError(error).message}; 'linus gc' removes leftovers` }, runId);
  }
}

// Runs one host job (a provision or a clone) to its end: attempts with fresh run ids while
// failures are transient. An attempt's rollback has finished when its final block arrives, so the
// next attempt never overlaps it.
// retryArgs: the argv of the attempts after the first, when it differs (facts read before the
// first attempt are not trusted after a failure).
export async function runJob(deps: JobDeps, runArgs: string[], retryArgs: string[] = runArgs): Promise<{ outcome: ProvisionOutcome; stats: JobStats }> {
  const policy = deps.retry ?? DEFAULT_RETRY;
  const stats = emptyJobStats();
  for (let index = 0; ; index += 1) {
    const runId = (deps.newRunId ?? newRunId)();
    stats.attempts += 1;
    let outcome: ProvisionOutcome;
    try {
      outcome = await attempt({ ...deps, onEvent: (event) => deps.onEvent(event, runId) }, index === 0 ? runArgs : retryArgs, runId, stats);
    } catch (error) {
      const linusError = toLinusError(error);
      if (!linusError.transient || index + 1 >= policy.attempts || deps.signal?.aborted) throw linusError;
      outcome = { ...failureOutcome(linusError.toJSON()), runId };
    }
    // A VM kept for inspection stays, and is not retried beside (its name is taken).
    if (!outcome.ok && outcome.kept) return { outcome, stats };
    if (!outcome.ok && outcome.vmId !== undefined) await confirmCleanup(deps, runId, stats);
    if (outcome.ok || !isTransient(outcome.error.code) || index + 1 >= policy.attempts || deps.signal?.aborted) return { outcome, stats };
    const delayMs = backoffDelay(index, policy);
    deps.onEvent({ kind: 'retry', attempt: index + 2, delayMs, code: outcome.error.code }, runId);
    await sleep(delayMs, deps.signal);
  }
}

// A failure that carries no job's steps or logs (it never ran, or the driver gave up on it).
export function failureOutcome(error: ErrorReport): ProvisionOutcome {
  return { ok: false, kind: 'failure', error, steps: [], warnings: [], logs: [] };
}

export interface VmJobDeps {
  ssh: SshTarget;
  connect: Connect;
  nodeAddresses: Record<string, NodeAddress>;
  // The proxmox provisioner.
  provisioner: ProvisionerFile;
  onEvent: (event: ProgressEvent, runId: string) => void;
  signal?: AbortSignal;
}

// One VM's provision where placement put it: <target>'s node (reached over its own address, or
// over the host's when it is <local>), its provisioner argv, its job with retries.
export interface VmJob {
  target: Target;
  local: string | undefined;
  spec: VmSpec;
  sshKeys: string | undefined;
  dryRun: boolean;
  capacity: 'check' | 'force' | 'placed';
  keepOnFailure: boolean;
  marks?: VmMarks;
  // What the run's placement read of this node: the first attempt takes it instead of reading it.
  placedFacts?: string;
}

export function runVmJob(deps: VmJobDeps, job: VmJob): Promise<{ outcome: ProvisionOutcome; stats: JobStats }> {
  const ssh = sshForNode(job.target.node, job.local, deps.ssh, deps.nodeAddresses);
  const args = (facts?: string) => provisionerArgs(job.target, job.spec, job.sshKeys, job.dryRun, job.capacity, job.keepOnFailure, job.marks, facts);
  return runJob({ connect: () => deps.connect(ssh), provisioner: deps.provisioner, remoteDir: job.target.remoteDir, onEvent: deps.onEvent, ...(deps.signal ? { signal: deps.signal } : {}) }, args(job.placedFacts), args());
}
