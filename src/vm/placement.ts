import { RANGES } from '../config/rules.js';
import { LinusError } from '../protocol/errors.js';
import type { ErrorReport } from '../protocol/transcript.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';
import { nodeTarget, type NodeAddress } from './nodes.js';
import { runOp, type OpStats } from './run-op.js';
import { placeSchema } from '../protocol/data.js';

// Placement for `linus provision` (docs/vm.md): one `vm.sh place` exec picks the node of every
// new VM (--node auto: online, the storage and bridge present, most free memory first, counting
// the VMs already placed; or the node given) and applies the capacity thresholds.

export const MAX_COUNT = RANGES.count.max;

export interface PlaceRequest {
  // A node name or 'auto'.
  node: string;
  storage: string;
  bridge: string;
  memoryMiB: number;
  diskGiB: number;
  count: number;
  force: boolean;
}

export interface PlaceDeps {
  ssh: SshTarget;
  script: ProvisionerFile;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
}

export type Placement =
  | { ok: true; nodes: string[]; local: string | undefined; warnings: string[]; stats: OpStats }
  | { ok: false; error: ErrorReport; warnings: string[]; stats: OpStats };

export function placeArgs(request: PlaceRequest, remoteDir: string, reachable: readonly string[] | undefined): string[] {
  const args = ['place', '--node', request.node, '--storage', request.storage, '--bridge', request.bridge];
  args.push('--memory', String(request.memoryMiB), '--disk', String(request.diskGiB), '--count', String(request.count));
  if (request.force) args.push('--force');
  // Auto placement only among the nodes linus reaches: this one and those with an address.
  if (reachable !== undefined) args.push('--reachable', reachable.join(','));
  args.push('--remote-dir', remoteDir);
  return args;
}

export async function place(deps: PlaceDeps, request: PlaceRequest): Promise<Placement> {
  const reachable = request.node === 'auto' ? Object.keys(deps.nodeAddresses).sort() : undefined;
  const { outcome, stats } = await runOp({ ssh: deps.ssh, script: deps.script, remoteDir: deps.remoteDir, nodeAddresses: {} }, placeArgs(request, deps.remoteDir, reachable));
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  const parsed = placeSchema.safeParse(outcome.data[0]);
  if (!parsed.success || parsed.data.nodes.length !== request.count) {
    throw new LinusError({ code: 'PROTOCOL_ERROR', message: `unexpected placement from the host: ${JSON.stringify(outcome.data[0] ?? null).slice(0, 200)}` });
  }
  return { ok: true, nodes: parsed.data.nodes, local: parsed.data.local, warnings: outcome.warnings, stats };
}

// Where to run the provisioner for a VM on <node>: the host linus connected to when that is the
// node (or the node is unknown), else the node's address from the map. An explicit --node
// without an address keeps going through --host, as before placement existed.
export function sshForNode(node: string, local: string | undefined, base: SshTarget, addresses: Record<string, NodeAddress>): SshTarget {
  if (node === local) return base;
  const address = addresses[node];
  return address ? nodeTarget(base, address) : base;
}

// --name dev-{n} with --count N: dev-1 .. dev-N. Without {n} only one VM can be named.
export function expandNames(template: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--count: must be an integer from 1 to ${MAX_COUNT}`, remediation: 'Fix the named parameter and run again.' });
  }
  if (count > 1 && template === '') {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--count ${count} needs --name with {n}, e.g. --name dev-{n}`, remediation: 'Pass a name pattern such as --name dev-{n}; {n} becomes 1..N.' });
  }
  if (count > 1 && !template.includes('{n}')) {
    throw new LinusError({
      code: 'INVALID_SPEC',
      message: `--name: with --count ${count} the name must contain {n} (e.g. ${JSON.stringify(`${template}-{n}`)}), got ${JSON.stringify(template)}`,
      remediation: 'Pass a name pattern such as --name dev-{n}; {n} becomes 1..N.',
    });
  }
  return Array.from({ length: count }, (_, index) => template.replaceAll('{n}', String(index + 1)));
}
