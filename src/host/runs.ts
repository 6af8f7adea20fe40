import { LinusError } from '../protocol/errors.js';
import type { RunRecord } from '../protocol/records.js';
import { hostResult } from '../protocol/transcript.js';
import { runsArgs } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { Connection } from '../ssh/connection.js';
import { runHostScript, type HostStats } from './run.js';

// The jobs under the remote dir (`proxmox.sh runs`, <provisioner> being the proxmox one), newest
// first; their cost added to stats. Here, not in jobs/, because ops-side readers (a VM's address)
// need the record of the run that made a VM too.
export async function readRuns(connection: Connection, provisioner: ProvisionerFile, remoteDir: string, stats: HostStats): Promise<RunRecord[]> {
  const { transcript, uploaded } = await runHostScript(connection, provisioner, runsArgs(remoteDir), { remoteDir, onExec: () => (stats.execs += 1) });
  if (uploaded) stats.uploads += 1;
  const result = hostResult(transcript);
  if (!result.ok) throw new LinusError({ code: result.error.code, message: result.error.message, remediation: result.error.remediation });
  return transcript.records.flatMap((record) => (record.key === 'RUN' ? [record.value] : [])).reverse();
}
