import type { ProvisionerFile } from '../provisioners/remote.js';
import { UPLOAD_NEEDED } from '../provisioners/remote.js';
import { shellJoin, shellQuote } from '../util/shell-quote.js';
import { fileVar, hashOk, oneLine } from './upload-steps.js';

// The provisioner's `wait` exits with this while the job is still running (docs/protocol.md).
export const STILL_RUNNING_EXIT = 75;
// ssh-mcp kills a command after 60 s by default: one wait stays well below that.
export const WAIT_SECONDS = 45;

// Starts the detached job with a fixed run id. Re-running it with the same options is a no-op on
// the host (same run id), so a retried start step never creates a second VM. Refuses to run a
// provisioner that is not this exact version, naming the upload steps instead.
export function startStep(remoteDir: string, provisioner: ProvisionerFile, runId: string, args: readonly string[], uploadSteps: string): string {
  return oneLine(
    `${fileVar(remoteDir, provisioner)}; if ${hashOk('"$f"', provisioner.fileSha256)}; then bash "$f" start --run-id ${shellQuote(runId)} ${shellJoin(args)}; exit $?; fi; ` +
      `echo ${UPLOAD_NEEDED}; echo 'linus: the provisioner is not on the host yet: run ${uploadSteps} first, then this step'; exit 24`,
  );
}

// Prints the job's log so far and returns within WAIT_SECONDS. While the job runs it exits 0
// (not 75) so that ssh-mcp v2 does not flag a healthy, still-running job as a failed call; once
// the job has finished it exits with the job's own status, so a failed provision is an error
// result whose text holds the LINUS_RESULT:FAILURE block.
export function waitStep(remoteDir: string, provisioner: ProvisionerFile, runId: string): string {
  const args = ['wait', runId, '--remote-dir', remoteDir, '--offset', '0', '--max-seconds', String(WAIT_SECONDS)];
  return oneLine(`${fileVar(remoteDir, provisioner)}; bash "$f" ${shellJoin(args)}; r=$?; [ "$r" -eq ${STILL_RUNNING_EXIT} ] && r=0; exit "$r"`);
}
