import { readRuns } from '../host/runs.js';
import type { RunRecord } from '../protocol/records.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection } from '../ssh/connection.js';

export type { RunRecord };

export interface RunsDeps {
  connect: () => Promise<Connection>;
  // The proxmox provisioner.
  provisioner: ProvisionerFile;
  remoteDir: string;
}

// The jobs under the remote dir (`proxmox.sh runs`), newest first.
export async function listRuns(deps: RunsDeps): Promise<{ runs: RunRecord[]; stats: { execs: number; uploads: number } }> {
  const stats = { execs: 0, uploads: 0 };
  const connection = await deps.connect();
  try {
    return { runs: await readRuns(connection, deps.provisioner, deps.remoteDir, stats), stats };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
