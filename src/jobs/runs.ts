import { runHostScript, type HostEvent } from '../host/run.js';
import { LinusError } from '../protocol/errors.js';
import type { RunRecord } from '../protocol/records.js';
import { hostResult } from '../protocol/transcript.js';
import { runsArgs } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection } from '../ssh/connection.js';

export type { RunRecord };

export interface RunsDeps {
  connect: () => Promise<Connection>;
  // The proxmox provisioner.
  provisioner: ProvisionerFile;
  remoteDir: string;
  // Every line the host sends, as events (-v shows them).
  onEvent?: (event: HostEvent) => void;
}

// The jobs under the remote dir (`proxmox.sh runs`), newest first.
export async function listRuns(deps: RunsDeps): Promise<{ runs: RunRecord[]; stats: { execs: number; uploads: number } }> {
  const stats = { execs: 0, uploads: 0 };
  const connection = await deps.connect();
  try {
    const { transcript, uploaded } = await runHostScript(connection, deps.provisioner, runsArgs(deps.remoteDir), { remoteDir: deps.remoteDir, onExec: () => (stats.execs += 1), ...(deps.onEvent ? { onEvent: deps.onEvent } : {}) });
    if (uploaded) stats.uploads += 1;
    const result = hostResult(transcript);
    if (!result.ok) throw new LinusError({ code: result.error.code, message: result.error.message, remediation: result.error.remediation });
    const runs = transcript.records.flatMap((record) => (record.key === 'RUN' ? [record.value] : []));
    return { runs: runs.reverse(), stats };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
