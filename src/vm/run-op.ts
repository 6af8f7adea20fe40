import { streamCommand, type ProgressEvent } from '../jobs/follow.js';
import { opOutcome, type OpOutcome } from '../protocol/transcript.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import { runProvisioner } from '../provisioners/run-cached.js';
import { connect, type Connection, type SshTarget } from '../ssh/connection.js';
import { otherNodeTarget, type NodeAddress } from './nodes.js';

export interface OpStats {
  execs: number;
  uploads: number;
  // The node whose SSH endpoint ran the operation ('' for the host given with --host).
  via: string;
}

export interface OpDeps {
  ssh: SshTarget;
  script: ProvisionerFile;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
  onLog?: (line: string) => void;
}

// One command on one connection: the cached script in one exec, else upload then run.
async function execOp(connection: Connection, deps: OpDeps, args: string[], stats: OpStats): Promise<OpOutcome> {
  // The host's own log lines, not its record of every Proxmox call.
  const onEvent = (event: ProgressEvent) => {
    if (event.kind === 'log' && event.line.startsWith('linus: ') && !event.line.startsWith('linus: call: ')) deps.onLog?.(event.line.slice(7));
  };
  const run = async (command: string) => {
    stats.execs += 1;
    return streamCommand(connection, command, onEvent);
  };
  const { result, uploaded } = await runProvisioner({ provisioner: deps.script, remoteDir: deps.remoteDir }, args, run);
  if (uploaded) stats.uploads += 1;
  return opOutcome(result.transcript);
}

// Runs `vm.sh <args>` on the host; a VM that lives on another node is followed there once when
// --node-address names that node's address.
export async function runOp(deps: OpDeps, args: string[]): Promise<{ outcome: OpOutcome; stats: OpStats }> {
  const stats: OpStats = { execs: 0, uploads: 0, via: '' };
  const once = async (target: SshTarget) => {
    const connection = await connect(target);
    try {
      return await execOp(connection, deps, args, stats);
    } finally {
      await connection.close().catch(() => undefined);
    }
  };
  let outcome = await once(deps.ssh);
  const other = outcome.ok ? undefined : otherNodeTarget(outcome.otherNode, deps.ssh, deps.nodeAddresses);
  if (other) {
    stats.via = other.node;
    outcome = await once(other.ssh);
  }
  return { outcome, stats };
}
