import type { Target, VmSpec } from '../config/spec.js';
import type { NodeAddress } from '../host/nodes.js';
import { defaultConnect, type Connect, type HostStats } from '../host/run.js';
import { place } from '../jobs/placement.js';
import { emptyJobStats, failureOutcome, runVmJob, type JobStats, type ProgressEvent } from '../jobs/run-job.js';
import { toLinusError } from '../protocol/errors.js';
import type { ErrorReport, ProvisionOutcome } from '../protocol/transcript.js';
import type { VmMarks } from '../provisioners/args.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';
import { inPool } from './pool.js';

// The creates of a fleet apply: the VMs of a file may each have their own node, storage, bridge,
// key and marks, so they are placed per (node, storage, bridge), one `vm.sh place` exec each, then
// provisioned as host jobs (jobs/run-job.ts), <parallel> at a time, each rolled back on its own.

export interface CreateItem {
  spec: VmSpec;
  sshKeys: string | undefined;
  // Where it goes: node (a name or 'auto'), storage, bridge of its own.
  target: Target;
  marks: VmMarks;
}

export interface CreateDeps {
  ssh: SshTarget;
  connect?: Connect;
  nodeAddresses: Record<string, NodeAddress>;
  onEvent: (name: string, event: ProgressEvent, runId: string) => void;
  // The VMs of a group were placed: the placement's warnings.
  onPlaced?: (warnings: string[]) => void;
  // Aborted: no job starts any more, and the running ones are cancelled (each rolls back).
  signal?: AbortSignal;
  provisioners?: { proxmox: ProvisionerFile; vm: ProvisionerFile };
}

export interface Created {
  name: string;
  node: string;
  // undefined: never started (Ctrl-C came first).
  outcome?: ProvisionOutcome;
  stats: JobStats;
}

export async function createVms(deps: CreateDeps, items: readonly CreateItem[], options: { parallel: number; force: boolean }): Promise<{ created: Created[]; placement: HostStats }> {
  const connect = deps.connect ?? defaultConnect;
  const provisioners = deps.provisioners ?? { proxmox: loadProvisioner('proxmox'), vm: loadProvisioner('vm') };
  const placement: HostStats = { execs: 0, uploads: 0 };
  const groups = new Map<string, CreateItem[]>();
  for (const item of items) {
    const key = [item.target.node, item.target.storage, item.target.bridge].join(' ');
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  // Each VM's node, the host's own node (for its SSH endpoint), its capacity mode, or why it cannot start.
  const placed = new Map<CreateItem, { node: string; local?: string; capacity: 'check' | 'force' | 'placed'; error?: ErrorReport }>();
  for (const group of groups.values()) {
    const [first] = group as [CreateItem];
    const { target } = first;
    // One VM on a named node: the provisioner checks the thresholds in the read it makes anyway.
    if (target.node !== 'auto' && group.length === 1) {
      placed.set(first, { node: target.node, capacity: options.force ? 'force' : 'check' });
      continue;
    }
    if (deps.signal?.aborted) break;
    const result = await place(
      { ssh: deps.ssh, connect, provisioner: provisioners.vm, remoteDir: target.remoteDir, nodeAddresses: deps.nodeAddresses },
      {
        node: target.node,
        storage: target.storage,
        bridge: target.bridge,
        // The largest VM of the group stands for each: the thresholds err on the safe side.
        memoryMiB: Math.max(...group.map((item) => item.spec.memory)),
        diskGiB: Math.max(...group.map((item) => item.spec.disk)),
        count: group.length,
        force: options.force,
      },
    );
    placement.execs += result.stats.execs;
    placement.uploads += result.stats.uploads;
    if (!result.ok) {
      for (const item of group) placed.set(item, { node: target.node, capacity: 'placed', error: result.error });
      continue;
    }
    deps.onPlaced?.(result.warnings);
    group.forEach((item, index) => placed.set(item, { node: result.nodes[index] as string, ...(result.local === undefined ? {} : { local: result.local }), capacity: 'placed' }));
  }
  const created = await inPool(
    items,
    options.parallel,
    deps.signal,
    async (item): Promise<Created> => {
      const where = placed.get(item);
      const name = item.spec.name;
      if (!where) return { name, node: item.target.node, stats: emptyJobStats() };
      if (where.error) return { name, node: where.node, outcome: failureOutcome(where.error), stats: emptyJobStats() };
      try {
        const { outcome, stats } = await runVmJob(
          { ssh: deps.ssh, connect, nodeAddresses: deps.nodeAddresses, provisioner: provisioners.proxmox, onEvent: (event, runId) => deps.onEvent(name, event, runId), ...(deps.signal ? { signal: deps.signal } : {}) },
          { target: { ...item.target, node: where.node }, local: where.local, spec: item.spec, sshKeys: item.sshKeys, dryRun: false, capacity: where.capacity, keepOnFailure: false, marks: item.marks },
        );
        return { name, node: where.node, outcome, stats };
      } catch (error) {
        const linusError = toLinusError(error);
        // Cancelled before it reached the host: as if never started.
        if (linusError.code === 'CANCELLED' && deps.signal?.aborted) return { name, node: where.node, stats: emptyJobStats() };
        return { name, node: where.node, outcome: failureOutcome(linusError.toJSON()), stats: emptyJobStats() };
      }
    },
    (item) => ({ name: item.spec.name, node: item.target.node, stats: emptyJobStats() }),
  );
  return { created, placement };
}
