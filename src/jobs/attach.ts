import { runHostScript } from '../host/run.js';
import { isFinal, toOutcome, type ProvisionOutcome, type Transcript } from '../protocol/transcript.js';
import { jobWaitArgs } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection } from '../ssh/connection.js';
import { WAIT_SECONDS } from './follow.js';
import type { ProgressEvent } from './run-job.js';


export interface AttachDeps {
  connect: () => Promise<Connection>;
  // The proxmox provisioner: its `wait` follows any job under the remote dir.
  provisioner: ProvisionerFile;
  remoteDir: string;
  onEvent: (event: ProgressEvent) => void;
  // Every line the host printed, records too.
  onLine?: (line: string) => void;
  // Seconds one `wait` follows the job before it is asked again (default 30).
  waitSeconds?: number;
}

// What following a job from another terminal gave: its outcome once it finished (the job's own
// failure, or JOB_NOT_FOUND for an unknown run id), or undefined while it still runs.
export interface AttachResult {
  outcome?: ProvisionOutcome;
  stats: { execs: number; uploads: number };
}

// Picks up host job <runId> started by any linus (`proxmox.sh wait`): its log from the start, then
// (follow) from each returned offset until its final block arrives. Without follow, one look.
export async function attachJob(deps: AttachDeps, runId: string, follow: boolean): Promise<AttachResult> {
  const stats = { execs: 0, uploads: 0 };
  const connection = await deps.connect();
  try {
    let offset = 0;
    for (;;) {
      const args = jobWaitArgs(runId, deps.remoteDir, offset, follow ? (deps.waitSeconds ?? WAIT_SECONDS) : 0);
      const { transcript, uploaded }: { transcript: Transcript; uploaded: boolean } = await runHostScript(connection, deps.provisioner, args, {
        remoteDir: deps.remoteDir,
        onExec: () => (stats.execs += 1),
        onEvent: deps.onEvent,
        ...(deps.onLine ? { onLine: deps.onLine } : {}),
      });
      if (uploaded) stats.uploads += 1;
      if (isFinal(transcript)) return { outcome: toOutcome(transcript), stats };
      if (!follow) return { stats };
      offset = transcript.offset ?? offset;
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}
