import { defaultConnect, runOnHost, type Connect, type HostEvent } from '../host/run.js';
import { LinusError } from '../protocol/errors.js';
import { cleanupRecords, hostResult, type CleanupRecords, type Transcript } from '../protocol/transcript.js';
import { gcArgs } from '../provisioners/args.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';

export interface GcDeps {
  ssh: SshTarget;
  connect?: Connect;
  remoteDir: string;
  // The proxmox provisioner (default: the bundled one).
  provisioner?: ProvisionerFile;
  // Every line the host sends, as events (-v shows them).
  onEvent?: (event: HostEvent) => void;
}

export interface GcReport extends CleanupRecords {
  ok: boolean;
  dryRun: boolean;
}

export interface GcRequest {
  olderThanSeconds: number;
  dryRun: boolean;
  // Without it, a dry run is shown first and removal waits for review.confirm().
  yes: boolean;
}

export interface GcReview {
  show(preview: GcReport): void;
  confirm(): Promise<boolean>;
}

// The host's gc lines; a failure block (a VM it could not remove, say) is thrown with its code.
function gcReport(transcript: Transcript, dryRun: boolean): GcReport {
  const result = hostResult(transcript);
  if (!result.ok) throw new LinusError({ code: result.error.code, message: `gc did not finish: ${result.error.message}` });
  return { ok: true, dryRun, ...cleanupRecords(transcript) };
}

const isEmpty = (report: GcReport) => report.candidates.length === 0 && report.staleJobs.length === 0 && report.staleDownloads.length === 0;

// `linus gc`: removes what failed or interrupted runs left (only linus-tagged VMs of unfinished
// runs, stale job records, partial downloads).
export async function gc(deps: GcDeps, request: GcRequest, review: GcReview): Promise<GcReport> {
  const provisioner = deps.provisioner ?? loadProvisioner('proxmox');
  const connect = deps.connect ?? defaultConnect;
  const stats = { execs: 0, uploads: 0 };
  const exec = (dryRun: boolean) => runOnHost(connect, deps.ssh, provisioner, gcArgs(deps.remoteDir, request.olderThanSeconds, dryRun), { remoteDir: deps.remoteDir, ...(deps.onEvent ? { onEvent: deps.onEvent } : {}) }, stats);
  let { dryRun } = request;
  if (!dryRun && !request.yes) {
    const preview = gcReport(await exec(true), true);
    review.show(preview);
    if (isEmpty(preview)) dryRun = true;
    else if (!(await review.confirm())) throw new LinusError({ code: 'CANCELLED', message: 'nothing was removed' });
  }
  return gcReport(await exec(dryRun), dryRun);
}
