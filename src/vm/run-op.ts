import { LineSplitter } from '../protocol/lines.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import { runProvisioner } from '../provisioners/run-cached.js';
import { connect, type Connection, type SshTarget } from '../ssh/connection.js';
import { otherNodeTarget, type NodeAddress } from './nodes.js';
import { parseOpOutput, type OpOutcome } from './transcript.js';

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
  const run = async (command: string) => {
    stats.execs += 1;
    const splitter = new LineSplitter();
    const lines: string[] = [];
    const take = (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        lines.push(line);
        if (line.startsWith('linus: ') && !line.startsWith('linus: call: ')) deps.onLog?.(line.slice(7));
      }
    };
    await connection.exec(command, { onStdout: take, onStderr: take });
    lines.push(...splitter.flush());
    return lines;
  };
  const { result, uploaded } = await runProvisioner({ provisioner: deps.script, remoteDir: deps.remoteDir }, args, async (command) => ({ lines: await run(command) }));
  if (uploaded) stats.uploads += 1;
  return parseOpOutput(result.lines);
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
  const other = outcome.ok ? undefined : otherNodeTarget(outcome.error, deps.ssh, deps.nodeAddresses);
  if (other) {
    stats.via = other.node;
    outcome = await once(other.ssh);
  }
  return { outcome, stats };
}
