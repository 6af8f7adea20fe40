import type { CloneSpec } from '../config/clone-spec.js';
import { otherNodeTarget, type NodeAddress } from '../host/nodes.js';
import { defaultConnect, type Connect } from '../host/run.js';
import type { ProvisionOutcome } from '../protocol/transcript.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import { cloneArgs } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';
import { runJob, type JobStats, type ProgressEvent } from './run-job.js';

export interface CloneDeps {
  ssh: SshTarget;
  connect?: Connect;
  // The vm provisioner (default: the bundled one).
  provisioner?: ProvisionerFile;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
  onEvent: (event: ProgressEvent, runId: string) => void;
  signal?: AbortSignal;
}

// A clone runs as a host job like a provision (run/wait/cancel/cleanup, retries of transient
// failures, reconnects), on the node that holds the template.
export async function cloneVm(deps: CloneDeps, spec: CloneSpec, sshKeys: string | undefined): Promise<{ outcome: ProvisionOutcome; stats: JobStats }> {
  const { remoteDir } = deps;
  const connect = deps.connect ?? defaultConnect;
  const provisioner = deps.provisioner ?? loadProvisioner('vm');
  const args = cloneArgs(spec, sshKeys, remoteDir);
  const onNode = (ssh: SshTarget) => runJob({ connect: () => connect(ssh), provisioner, remoteDir, onEvent: deps.onEvent, ...(deps.signal ? { signal: deps.signal } : {}) }, args);
  const first = await onNode(deps.ssh);
  const other = first.outcome.ok ? undefined : otherNodeTarget(first.outcome.otherNode, deps.ssh, deps.nodeAddresses);
  return other ? onNode(other.ssh) : first;
}
