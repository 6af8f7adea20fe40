import { runHostScript } from '../host/run.js';
import { LinusError } from '../protocol/errors.js';
import { cleanupRecords, hostResult, type CleanupRecords } from '../protocol/transcript.js';
import { cleanupArgs } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection } from '../ssh/connection.js';

// Asks the host to remove whatever VM of this run is still there although the run did not
// succeed (a rollback that could not finish); VMs of successful runs are never touched.
export async function cleanupRun(connection: Connection, provisioner: ProvisionerFile, remoteDir: string, runId: string): Promise<CleanupRecords> {
  const { transcript } = await runHostScript(connection, provisioner, cleanupArgs(runId, remoteDir), { remoteDir });
  const outcome = hostResult(transcript);
  if (!outcome.ok && outcome.error.code !== 'JOB_NOT_FOUND') {
    throw new LinusError({ code: 'CLEANUP_FAILED', message: `cleanup of run ${runId} failed: ${outcome.error.message}`, remediation: "Run 'linus gc --dry-run' to see what is left, then 'linus gc --yes'." });
  }
  return cleanupRecords(transcript);
}
