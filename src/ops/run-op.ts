import { otherNodeTarget, type NodeAddress } from '../host/nodes.js';
import { defaultConnect, runOnHost, type Connect, type HostEvent, type HostStats } from '../host/run.js';
import { opOutcome, type ErrorReport, type OpOutcome } from '../protocol/transcript.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';

export interface OpStats extends HostStats {
  // The node whose SSH endpoint ran the operation ('' for the host given with --host).
  via: string;
}

export interface OpsDeps {
  ssh: SshTarget;
  connect?: Connect;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
  // The vm provisioner (default: the bundled one).
  provisioner?: ProvisionerFile;
  // Every line the host sends, as events (the CLI shows them by its -v level).
  onEvent?: (event: HostEvent) => void;
}

// What an operation returns: its parsed data, or the host's refusal; warnings and cost either way.
export type OpResult<T> = ({ ok: true; data: T } | { ok: false; error: ErrorReport }) & { warnings: string[]; stats: OpStats };

export function emptyOpStats(): OpStats {
  return { execs: 0, uploads: 0, via: '' };
}

// Runs `vm.sh <args> --remote-dir <dir>` on the host; a VM that lives on another node is followed
// there once when --node-address names that node's address.
export async function runOp(deps: OpsDeps, args: readonly string[]): Promise<{ outcome: OpOutcome; stats: OpStats }> {
  const stats = emptyOpStats();
  const connect = deps.connect ?? defaultConnect;
  const provisioner = deps.provisioner ?? loadProvisioner('vm');
  const onEvent = deps.onEvent ? { onEvent: deps.onEvent } : {};
  const once = async (target: SshTarget) => opOutcome(await runOnHost(connect, target, provisioner, [...args, '--remote-dir', deps.remoteDir], { remoteDir: deps.remoteDir, ...onEvent }, stats));
  let outcome = await once(deps.ssh);
  const other = outcome.ok ? undefined : otherNodeTarget(outcome.otherNode, deps.ssh, deps.nodeAddresses);
  if (other) {
    stats.via = other.node;
    outcome = await once(other.ssh);
  }
  return { outcome, stats };
}
