import type { FleetVm } from '../config/fleet-file.js';
import type { Target } from '../config/spec.js';
import type { HostStats } from '../host/run.js';
import type { OpResult, OpsDeps } from '../ops/run-op.js';
import { deleteVm, powerVm, resizeVm, setVm, type VmChanges } from '../ops/vm.js';
import { LinusError, toLinusError } from '../protocol/errors.js';
import type { ErrorReport, VmReport } from '../protocol/transcript.js';
import { createVms, type CreateDeps, type CreateItem, type Created } from './create.js';
import type { FleetPlan, PlanAction, PlannedChange } from './plan.js';
import { inPool } from './pool.js';

// A fleet apply (docs/fleets.md): the plan carried out with the existing operations. Updates
// (vm set, vm resize) and deletes first, <parallel> at a time; then the creates, the replaced VMs
// among them, as host jobs placed together (create.ts); then, with reboot, the reboots that
// pending changes wait for. Each VM fails on its own and is reported; the others go on. Once the
// signal is aborted nothing new starts, and the jobs running roll their VM back.

export interface ApplyDeps {
  ops: OpsDeps;
  create: Omit<CreateDeps, 'signal'>;
  signal?: AbortSignal;
  // What is done to a VM, as it starts ("set cores 2 -> 4").
  onStep?: (name: string, text: string) => void;
}

export interface ApplyOptions {
  parallel: number;
  reboot: boolean;
  // Past 90 % of a node's memory or a storage.
  force: boolean;
  // Where the file's VMs go unless their entry says otherwise.
  target: Target;
  // The public keys of a VM to create (read from its sshKey file).
  keysOf(vm: FleetVm): string | undefined;
}

export interface VmApplied {
  name: string;
  action: PlanAction;
  ok: boolean;
  vmId?: number;
  node?: string;
  // Not started: the apply was interrupted first.
  skipped?: boolean;
  error?: ErrorReport;
  // Changes waiting for a reboot (without reboot).
  pending?: string[];
  rebooted?: boolean;
  // A created VM: the provision's run id and report.
  runId?: string;
  vm?: VmReport;
  // A replace: the VM deleted first (whether or not its successor was made).
  replacedVmId?: number;
}

export interface ApplyResult {
  vms: VmApplied[];
  warnings: string[];
  stats: { execs: number; uploads: number; place: HostStats };
}

const shown = (value: unknown) => (Array.isArray(value) ? value.join(';') || '(none)' : value === '' ? '(empty)' : String(value));

export async function applyFleetPlan(deps: ApplyDeps, plan: FleetPlan, options: ApplyOptions): Promise<ApplyResult> {
  const { ops, signal } = deps;
  const step = (name: string, text: string) => deps.onStep?.(name, text);
  const warnings: string[] = [];
  const stats = { execs: 0, uploads: 0, place: { execs: 0, uploads: 0 } };
  const count = <T>(result: OpResult<T>): OpResult<T> => {
    stats.execs += result.stats.execs;
    stats.uploads += result.stats.uploads;
    warnings.push(...result.warnings);
    return result;
  };
  const results = new Map<PlannedChange, VmApplied>();
  const base = (change: PlannedChange): VmApplied => ({ name: change.name, action: change.action, ok: false, ...(change.vmId === undefined ? {} : { vmId: change.vmId }), ...(change.node === undefined ? {} : { node: change.node }) });
  const skipped = (change: PlannedChange): VmApplied => ({ ...base(change), skipped: true, error: new LinusError({ code: 'CANCELLED', message: `${change.name}: not started, the apply was interrupted`, remediation: 'Run the apply again: it picks up where this one stopped.' }).toJSON() });

  // 1. In place: vm set (cores, memory, the note after the spec summary, tags), vm resize (grow).
  const update = async (change: PlannedChange): Promise<VmApplied> => {
    const id = change.vmId as number;
    const out = base(change);
    const changes: Array<readonly [VmChanges[number][0], string | number]> = [];
    for (const key of ['cores', 'memory', 'description', 'tags'] as const) {
      const field = change.fields[key];
      if (field) changes.push([key, Array.isArray(field[1]) ? field[1].join(';') : (field[1] as string | number)]);
    }
    const pending = new Set(change.pending ?? []);
    if (changes.length > 0) {
      step(change.name, `set ${changes.map(([key]) => `${key} ${shown(change.fields[key]?.[0])} -> ${shown(change.fields[key]?.[1])}`).join(', ')}`);
      // Its one warning, what waits for a reboot, is the VM's pending (or rebooted) in the result.
      const set = await setVm(ops, id, changes, { keepSummary: changes.some(([key]) => key === 'description') });
      count({ ...set, warnings: [] });
      if (!set.ok) return { ...out, error: set.error };
      for (const key of set.data.pending) pending.add(key);
    }
    const disk = change.fields.disk;
    if (disk && change.live?.disk) {
      step(change.name, `grow ${change.live.disk.key} ${disk[0]} -> ${disk[1]} GiB`);
      const resized = count(await resizeVm(ops, id, String(disk[1]), { disk: change.live.disk.key }));
      if (!resized.ok) return { ...out, error: resized.error };
    }
    return { ...out, ok: true, ...(pending.size > 0 ? { pending: [...pending].sort() } : {}) };
  };
  // A delete (prune) or the first half of a replace: stopped first; refused if the VM was renamed since the plan.
  const remove = async (change: PlannedChange): Promise<VmApplied> => {
    step(change.name, `delete VM ${change.vmId}${change.action === 'replace' ? ` to replace it (${(change.replaceFor ?? []).join(', ')})` : ''}`);
    const confirm = async (vm: { name: string }) => vm.name === change.name;
    try {
      const deleted = count(await deleteVm(ops, change.vmId as number, { stop: true, confirm }));
      return deleted.ok ? { ...base(change), ok: true } : { ...base(change), error: deleted.error };
    } catch (error) {
      return { ...base(change), error: toLinusError(error).toJSON() };
    }
  };
  const first = plan.changes.filter((change) => ['update', 'delete', 'replace'].includes(change.action));
  const done = await inPool(first, options.parallel, signal, (change) => (change.action === 'update' ? update(change) : remove(change)), skipped);
  first.forEach((change, index) => results.set(change, done[index] as VmApplied));

  // 2. The creates, and the replaced VMs whose old VM is gone.
  const creates = plan.changes.filter((change) => change.action === 'create' || (change.action === 'replace' && results.get(change)?.ok));
  if (creates.length > 0) {
    const items = new Map<CreateItem, PlannedChange>();
    for (const change of creates) {
      const vm = change.wanted as FleetVm;
      const target = { ...options.target, ...(vm.node === undefined ? {} : { node: vm.node }), ...(vm.storage === undefined ? {} : { storage: vm.storage }), ...(vm.bridge === undefined ? {} : { bridge: vm.bridge }) };
      items.set({ spec: vm.spec, sshKeys: options.keysOf(vm), target, marks: { fleet: plan.fleet, ...(vm.tags ? { tags: vm.tags } : {}), ...(vm.description ? { description: vm.description } : {}) } }, change);
      step(change.name, `create on ${target.node === 'auto' ? 'the node placement picks' : `node ${target.node}`}`);
    }
    const { created, placement } = await createVms({ ...deps.create, ...(signal ? { signal } : {}) }, [...items.keys()], { parallel: options.parallel, force: options.force });
    stats.place = placement;
    [...items.values()].forEach((change, index) => {
      const made = createdResult(change, created[index] as Created, skipped);
      results.set(change, change.action === 'replace' ? { ...made, replacedVmId: change.vmId as number } : made);
    });
  }

  // 3. Reboots for what waits in [PENDING], when asked; otherwise the pending keys are reported.
  if (options.reboot) {
    const waiting = plan.changes.filter((change) => (change.action === 'update' || change.action === 'unchanged') && (results.get(change)?.pending ?? change.pending ?? []).length > 0 && (results.get(change)?.ok ?? true));
    const rebooted = await inPool(
      waiting,
      options.parallel,
      signal,
      async (change): Promise<VmApplied> => {
        const before = results.get(change) ?? { ...base(change), ok: true };
        step(change.name, `reboot for ${(before.pending ?? change.pending ?? []).join(', ')}`);
        const power = count(await powerVm(ops, 'reboot', change.vmId as number, {}));
        if (!power.ok) return { ...before, ok: false, error: power.error };
        const { pending: _pending, ...rest } = before;
        return { ...rest, ok: true, rebooted: true };
      },
      (change) => results.get(change) ?? { ...base(change), ok: true, ...(change.pending ? { pending: change.pending } : {}) },
    );
    waiting.forEach((change, index) => results.set(change, rebooted[index] as VmApplied));
  }
  const vms = plan.changes.flatMap((change) => {
    const result = results.get(change);
    if (result) return [result];
    return change.action === 'unchanged' ? [{ ...base(change), ok: true, ...(change.pending ? { pending: change.pending } : {}) }] : [];
  });
  return { vms, warnings, stats };
}

function createdResult(change: PlannedChange, created: Created, skipped: (change: PlannedChange) => VmApplied): VmApplied {
  const { outcome } = created;
  if (!outcome) return skipped(change);
  const out: VmApplied = { name: change.name, action: change.action, ok: outcome.ok, node: created.node, ...(outcome.runId === undefined ? {} : { runId: outcome.runId }) };
  if (outcome.kind === 'success') return { ...out, vmId: outcome.vm.id, node: outcome.vm.node, vm: outcome.vm };
  if (outcome.kind === 'failure') return { ...out, ok: false, error: outcome.error, ...(outcome.vmId === undefined ? {} : { vmId: outcome.vmId }) };
  return out;
}
