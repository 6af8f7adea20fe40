import { LinusError, toLinusError } from '../protocol/errors.js';
import { isFinal, toOutcome, type ProvisionOutcome, type Transcript } from '../protocol/transcript.js';
import { jobWaitArgs } from '../provisioners/args.js';
import type { Connection } from '../ssh/connection.js';
import { DEFAULT_RETRY, backoffDelay, sleep } from './retry.js';
import type { AttemptDeps, JobStats } from './run-job.js';

// Seconds one host-side `wait` follows a job before it returns and is asked again.
export const WAIT_SECONDS = 30;

export interface FollowRequest {
  deps: AttemptDeps;
  runId: string;
  // The connection failure that sent the job here.
  cause: LinusError;
  stats: JobStats;
  // Lines of the job's log already shown before the drop.
  shown: number;
  cancel: () => Promise<ProvisionOutcome>;
  // Runs one provisioner command (`wait`) and returns its transcript; lines up to `skip` are not shown again.
  exec: (connection: Connection, args: string[], skip?: number) => Promise<Transcript>;
}

// Follows a job that runs on the host detached after the connection that started it dropped:
// reconnects with backoff and `wait`s from the last offset until the final block arrives.
export async function followJob(request: FollowRequest): Promise<ProvisionOutcome> {
  const { deps, runId, stats, exec } = request;
  const budget = Date.now() + (deps.followBudgetMs ?? 10 * 60_000);
  let offset: number | undefined;
  let vmId: number | undefined;
  const policy = deps.retry ?? DEFAULT_RETRY;
  let lastError = request.cause;
  for (let reconnect = 0; Date.now() < budget; reconnect += 1) {
    const delayMs = backoffDelay(Math.min(reconnect, 4), policy);
    deps.onEvent({ kind: 'reconnect', attempt: reconnect + 1, delayMs, reason: lastError.message });
    await sleep(delayMs, deps.signal);
    if (deps.signal?.aborted) return request.cancel();
    stats.reconnects += 1;
    let connection: Connection | undefined;
    try {
      connection = await deps.connect();
      for (;;) {
        // The first wait re-reads the log from 0 (lines already shown are skipped); each later
        // one, after this or another reconnect, resumes at the offset the previous wait reported.
        const args = jobWaitArgs(runId, deps.remoteDir, offset ?? 0, deps.waitSeconds ?? WAIT_SECONDS);
        const transcript = await exec(connection, args, offset === undefined ? request.shown : 0);
        vmId = transcript.vmId ?? vmId;
        if (isFinal(transcript)) return toOutcome({ ...transcript, ...(vmId === undefined ? {} : { vmId }) });
        offset = transcript.offset ?? offset;
        if (deps.signal?.aborted) return request.cancel();
      }
    } catch (error) {
      const linusError = toLinusError(error);
      if (linusError.code !== 'CONNECTION_FAILED') throw linusError;
      lastError = linusError;
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new LinusError({ code: 'CONNECTION_FAILED', message: `lost the connection while run ${runId} was running and could not reconnect: ${lastError.message}`, remediation: `The job finishes or rolls back on the host by itself: 'linus wait ${runId}' picks it up again (same target flags); 'linus gc --dry-run' later shows anything it left.` });
}
