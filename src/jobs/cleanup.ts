import { LinusError } from '../protocol/errors.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import { runProvisioner } from '../provisioners/run-cached.js';
import type { Connection } from '../ssh/connection.js';
import { streamCommand } from './follow.js';

export interface CleanupReport {
  cleaned: number[];
  skipped: string[];
}

function valuesOf(lines: string[], key: string): string[] {
  return lines.filter((line) => line.startsWith(`${key}:`)).map((line) => line.slice(key.length + 1));
}

// Asks the host to remove whatever VM of this run is still there although the run did not
// succeed (a rollback that could not finish); VMs of successful runs are never touched.
export async function cleanupRun(connection: Connection, provisioner: ProvisionerFile, remoteDir: string, runId: string): Promise<CleanupReport> {
  const { result } = await runProvisioner({ provisioner, remoteDir }, ['cleanup', runId, '--remote-dir', remoteDir], (command) => streamCommand(connection, command, () => undefined));
  const { lines } = result;
  if (result.code !== 0 && !lines.includes('LINUS_ERROR_CODE:JOB_NOT_FOUND')) {
    const message = valuesOf(lines, 'LINUS_ERROR')[0] ?? `exit ${result.code}`;
    throw new LinusError({ code: 'CREATE_FAILED', message: `cleanup of run ${runId} failed: ${message}`, remediation: "Run 'linus gc --dry-run' to see what is left, then 'linus gc --yes'." });
  }
  return { cleaned: valuesOf(lines, 'LINUS_CLEANED').map(Number), skipped: valuesOf(lines, 'LINUS_GC_SKIP') };
}
