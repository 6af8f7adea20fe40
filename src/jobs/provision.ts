import type { Target, VmSpec } from '../config/spec.js';
import { sshForNode, type NodeAddress } from '../host/nodes.js';
import { connectionPool } from '../host/pool.js';
import { defaultConnect, type Connect, type HostStats } from '../host/run.js';
import { toLinusError } from '../protocol/errors.js';
import type { ErrorReport, ProvisionOutcome } from '../protocol/transcript.js';
import { provisionerArgs } from '../provisioners/args.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';
import { place } from './placement.js';
import { emptyJobStats, runJob, type JobStats, type ProgressEvent } from './run-job.js';

export interface ProvisionRequest {
  // Its node may be 'auto'.
  target: Target;
  // One validated spec per VM, in order.
  specs: VmSpec[];
  sshKeys: string | undefined;
  dryRun: boolean;
  // Go ahead past 90 % of the node memory or storage.
  force: boolean;
  // --count was given: one VM's connection trouble must not hide the others' results.
  many: boolean;
  // A failed VM is kept for inspection (still tagged for gc) instead of rolled back.
  keepOnFailure?: boolean;
}

export interface ProvisionDeps {
  ssh: SshTarget;
  connect?: Connect;
  nodeAddresses: Record<string, NodeAddress>;
  // Progress of the VM named.
  onEvent: (name: string, event: ProgressEvent, runId: string) => void;
  // The VMs were placed (before any is created): the placement's warnings.
  onPlaced?: (warnings: string[]) => void;
  // Aborted: each host job is cancelled and its rollback awaited.
  signal?: AbortSignal;
  provisioners?: { proxmox: ProvisionerFile; vm: ProvisionerFile };
}

// One VM of the run: its name, the node placement chose and its own job (run id, rollback).
export interface VmRun {
  name: string;
  node: string;
  outcome: ProvisionOutcome;
  stats: JobStats;
}

export interface ProvisionResult {
  // When the VMs were placed (--node auto or several VMs): its warnings and cost, and its refusal
  // (then nothing was created and runs is empty).
  placement?: { warnings: string[]; stats: HostStats; error?: ErrorReport };
  runs: VmRun[];
}

// Provisions one VM or many: places them (one `vm.sh place` exec checks every VM of the run
// together, before anything is created), then runs every VM's job concurrently, each with its
// own run id and its own rollback on failure.
export async function provisionVms(deps: ProvisionDeps, request: ProvisionRequest): Promise<ProvisionResult> {
  if (deps.connect) return provisionWith({ ...deps, connect: deps.connect }, request);
  // The placement and the jobs of one provision share SSH connections: a handshake per
  // MAX_BORROWERS VMs instead of one per VM and one more for the placement.
  const pool = connectionPool(defaultConnect);
  try {
    return await provisionWith({ ...deps, connect: pool.connect }, request);
  } finally {
    await pool.close();
  }
}

async function provisionWith(deps: ProvisionDeps & { connect: Connect }, request: ProvisionRequest): Promise<ProvisionResult> {
  const { target, specs } = request;
  const { connect } = deps;
  const provisioners = deps.provisioners ?? { proxmox: loadProvisioner('proxmox'), vm: loadProvisioner('vm') };
  const first = specs[0];
  if (first === undefined) return { runs: [] };
  // A single VM on a named node: the provisioner checks the capacity thresholds itself, in the
  // same /cluster/resources read it makes anyway.
  const placing = target.node === 'auto' || specs.length > 1;
  let nodes = specs.map(() => target.node);
  let local: string | undefined;
  let placement: ProvisionResult['placement'];
  if (placing) {
    const placed = await place(
      { ssh: deps.ssh, connect, provisioner: provisioners.vm, remoteDir: target.remoteDir, nodeAddresses: deps.nodeAddresses },
      { node: target.node, storage: target.storage, bridge: target.bridge, memoryMiB: first.memory, diskGiB: first.disk, count: specs.length, force: request.force },
    );
    const stats = { execs: placed.stats.execs, uploads: placed.stats.uploads };
    if (!placed.ok) return { placement: { warnings: placed.warnings, stats, error: placed.error }, runs: [] };
    placement = { warnings: placed.warnings, stats };
    ({ nodes, local } = placed);
    deps.onPlaced?.(placed.warnings);
  }
  const capacity = placing ? 'placed' : request.force ? 'force' : 'check';
  const runs = await Promise.all(
    specs.map(async (spec, index): Promise<VmRun> => {
      const node = nodes[index] as string;
      const ssh = sshForNode(node, local, deps.ssh, deps.nodeAddresses);
      const args = provisionerArgs({ ...target, node }, spec, request.sshKeys, request.dryRun, capacity, Boolean(request.keepOnFailure));
      try {
        const onEvent = (event: ProgressEvent, runId: string) => deps.onEvent(spec.name, event, runId);
        const { outcome, stats } = await runJob({ connect: () => connect(ssh), provisioner: provisioners.proxmox, remoteDir: target.remoteDir, onEvent, ...(deps.signal ? { signal: deps.signal } : {}) }, args);
        return { name: spec.name, node, outcome, stats };
      } catch (error) {
        if (!request.many) throw error;
        const linusError = toLinusError(error);
        return { name: spec.name, node, outcome: { ok: false, kind: 'failure', error: linusError.toJSON(), steps: [], warnings: [], logs: [] }, stats: emptyJobStats() };
      }
    }),
  );
  return { ...(placement ? { placement } : {}), runs };
}
