import { LinusError } from '../protocol/errors.js';
import { cleanupRecords, hostResult, type CleanupRecords } from '../protocol/transcript.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import { runProvisioner } from '../provisioners/run-cached.js';
import type { Connection } from '../ssh/connection.js';
import { streamCommand } from './follow.js';

// Asks the host to remove whatever VM of this run is still there although the run did not
// succeed (a rollback that could not finish); VMs of successful runs are never touched.
export async function cleanupRun(connection: Connection, provisioner: ProvisionerFile, remoteDir: string, runId: string): Promise<CleanupRecords> {
  const { result } = await runProvisioner({ provisioner, remoteDir }, ['cleanup', runId, '--remote-dir', remoteDir], (command) => streamCommand(connection, command, () => undefined));
  const outcome = hostResult(result.transcript);
  if (!outcome.ok && outcome.error.code !== 'JOB_NOT_FOUND') {
    throw new LinusError({ code: 'CLEANUP_FAILED', message: `cleanup of run ${runId} failed: ${outcome.error.message}`, remediation: "Run 'linus gc --dry-run' to see what is left, then 'linus gc --yes'." });
  }
  return cleanupRecords(result.transcript);
}
