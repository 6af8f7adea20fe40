import { defaultConnect, runOnHost, type Connect, type HostStats } from '../host/run.js';
import type { NodeAddress } from '../host/nodes.js';
import { placeSchema, type ExistingRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import { opOutcome, type ErrorReport } from '../protocol/transcript.js';
import { placeArgs, type PlaceRequest } from '../provisioners/args.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';

// Placement for `linus provision` (docs/vm.md): one `vm.sh place` exec picks the node of every
// new VM (--node auto: online, the storage and bridge present, most free memory first, counting
// the VMs already placed; or the node given) and applies the capacity thresholds.

export interface PlaceDeps {
  ssh: SshTarget;
  connect?: Connect;
  // The vm provisioner.
  provisioner: ProvisionerFile;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
}

export type Placement =
  // With request.names: names[i] is the name of the VM placed on nodes[i]; existing, the VMs that have
  // the run's names.
  // facts: for the jobs of the VMs placed on <local> (provisionerArgs placedFacts).
  | { ok: true; nodes: string[]; local: string | undefined; names?: string[]; existing?: ExistingRow[]; facts?: string; warnings: string[]; stats: HostStats }
  | { ok: false; error: ErrorReport; warnings: string[]; stats: HostStats };

export async function place(deps: PlaceDeps, request: PlaceRequest): Promise<Placement> {
  // Auto placement only among the nodes linus reaches: this one and those with an address.
  const reachable = request.node === 'auto' ? Object.keys(deps.nodeAddresses).sort() : undefined;
  const stats: HostStats = { execs: 0, uploads: 0 };
  const transcript = await runOnHost(deps.connect ?? defaultConnect, deps.ssh, deps.provisioner, placeArgs(request, deps.remoteDir, reachable), { remoteDir: deps.remoteDir }, stats);
  const outcome = opOutcome(transcript);
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  const parsed = placeSchema.safeParse(outcome.data[0]);
  const placed = request.names ? parsed.data?.names?.length : request.count;
  if (!parsed.success || parsed.data.nodes.length !== placed || (request.names !== undefined && parsed.data.existing === undefined)) {
    throw new LinusError({ code: 'PROTOCOL_ERROR', message: `unexpected placement from the host: ${JSON.stringify(outcome.data[0] ?? null).slice(0, 200)}` });
  }
  const { nodes, local, names, existing, facts } = parsed.data;
  return { ok: true, nodes, local, ...(names ? { names } : {}), ...(existing ? { existing } : {}), ...(facts ? { facts } : {}), warnings: outcome.warnings, stats };
}
