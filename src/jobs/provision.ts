import type { Target, VmSpec } from '../config/spec.js';
import type { NodeAddress } from '../host/nodes.js';
import { connectionPool } from '../host/pool.js';
import { defaultConnect, type Connect, type HostStats } from '../host/run.js';
import { toLinusError } from '../protocol/errors.js';
import type { ErrorReport, ProvisionOutcome } from '../protocol/transcript.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import type { SshTarget } from '../ssh/connection.js';
import { highestName } from '../config/names.js';
import { vmAddress } from '../host/vm-address.js';
import { ERROR_CODES, type ErrorCode } from '../protocol/codes.js';
import type { ExistingRow } from '../protocol/data.js';
import type { VmReport } from '../protocol/transcript.js';
import { place } from './placement.js';
import { reuseVerdict, type IfExists } from './reuse.js';
import { emptyJobStats, failureOutcome, runVmJob, type JobStats, type ProgressEvent } from './run-job.js';

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
  // A wanted name is taken: refuse (NAME_CONFLICT, before anything is created), or reuse the VM
  // when linus made it with these settings (jobs/reuse.ts). Default fail.
  ifExists?: IfExists;
  // --name as given with --count, {n} standing for the number: the host numbers the VMs, after
  // the highest number taken (fail) or 1..N keeping those that exist (reuse).
  namePattern?: string;
}

export interface ProvisionDeps {
  ssh: SshTarget;
  connect?: Connect;
  nodeAddresses: Record<string, NodeAddress>;
  // Progress of the VM named.
  onEvent: (name: string, event: ProgressEvent, runId: string) => void;
  // The VMs were placed (before any is created): the placement's warnings.
  onPlaced?: (warnings: string[]) => void;
  // The names of the VMs to create, when placement numbered them (before any job starts).
  onNames?: (names: string[]) => Promise<void>;
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
  // --if-exists reuse returned this existing VM: no job ran.
  reused?: boolean;
}

export interface ProvisionResult {
  // When the VMs were placed (--node auto or several VMs): its warnings and cost, and its refusal
  // (then nothing was created and runs is empty).
  placement?: { warnings: string[]; stats: HostStats; error?: ErrorReport };
  runs: VmRun[];
  // A {n} pattern without reuse: the highest name of the pattern taken, numbering went on after it.
  continuedAfter?: string;
}

// The NAME_CONFLICT of a provision (the host's check, or placement's) says how to go on.
const NAME_TAKEN_REMEDIATION = "Pick another --name, delete that VM ('linus vm delete <name> --yes --stop'), or pass --if-exists reuse to take it as it is if linus made it with these settings.";

function withNameRemedy<T extends { code: string; remediation: string }>(error: T): T {
  return error.code === 'NAME_CONFLICT' ? { ...error, remediation: NAME_TAKEN_REMEDIATION } : error;
}

function withNameRemedyOutcome(outcome: ProvisionOutcome): ProvisionOutcome {
  return outcome.ok ? outcome : { ...outcome, error: withNameRemedy(outcome.error) };
}

// The VMs that exist for a reuse run as the result reports them, or the refusal naming every VM
// that cannot be reused (nothing is created then).
async function reuseExisting(deps: ProvisionDeps, request: ProvisionRequest, existing: ExistingRow[], stats: HostStats): Promise<{ runs: Map<string, VmRun> } | { error: ErrorReport }> {
  const first = request.specs[0] as VmSpec;
  const runs = new Map<string, VmRun>();
  const refusals: Array<{ code: ErrorCode; text: string; remediation: string }> = [];
  for (const vm of existing) {
    const verdict = reuseVerdict({ ...first, name: vm.name }, request.target.node, vm);
    const label = `VM ${vm.id} '${vm.name}' on node ${vm.node}`;
    if (!verdict.ok) {
      refusals.push({ code: verdict.code, text: `${label}: ${verdict.reason}`, remediation: verdict.remediation });
      continue;
    }
    const found = await vmAddress({ ...deps, remoteDir: request.target.remoteDir }, vm, { config: { description: vm.spec ?? '' }, stats, ...(first.vmUser === undefined ? {} : { user: first.vmUser }) });
    if (found.address === undefined) {
      refusals.push({
        code: 'VM_WRONG_STATE',
        text: `${label}: it matches, but its guest agent does not answer and no linus run recorded its address`,
        remediation: 'Install qemu-guest-agent in the VM, or delete it and provision again.',
      });
      continue;
    }
    const report: VmReport = { id: vm.id, name: vm.name, ip: found.address, user: found.user ?? verdict.recordedUser, node: vm.node, os: verdict.os, cores: vm.cores, memoryMiB: vm.memoryMiB, diskGiB: vm.diskGiB };
    runs.set(vm.name, { name: vm.name, node: vm.node, reused: true, outcome: { ok: true, kind: 'success', vm: report, steps: [], warnings: [], logs: [] }, stats: emptyJobStats() });
  }
  const refusal = refusals[0];
  if (refusal === undefined) return { runs };
  const { code, remediation } = refusal;
  const error = { code, exitCode: ERROR_CODES[code].exitCode, message: `--if-exists reuse: ${refusals.map((entry) => entry.text).join('; ')}`, remediation };
  return { error };
}

// Provisions one VM or many: places them (one `vm.sh place` exec checks every VM of the run
// together, before anything is created), then runs every VM's job concurrently, each with its
// own run id and its own rollback on failure.
export async function provisionVms(deps: ProvisionDeps, request: ProvisionRequest): Promise<ProvisionResult> {
  if (deps.connect) return provisionWith({ ...deps, connect: deps.connect }, request);
  // The placement and the jobs of one provision share SSH connections: a handshake per
  // MAX_BORROWERS VMs instead of one per VM and one more for the placement.
  const pool = connectionPool(defaultConnect);
  // VMs on the node given and reached over --host: once the placement's connection is up, the
  // jobs' connections open while the placement runs.
  const { node } = request.target;
  let warm = request.specs.length > 1 && node !== 'auto' && deps.nodeAddresses[node] === undefined;
  const connect: Connect = async (target) => {
    const connection = await pool.connect(target);
    if (warm) pool.warm(deps.ssh, request.specs.length);
    warm = false;
    return connection;
  };
  try {
    return await provisionWith({ ...deps, connect }, request);
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
  const reuse = request.ifExists === 'reuse';
  const pattern = request.namePattern?.includes('{n}') ? request.namePattern : undefined;
  // A single new VM on a named node: the provisioner checks the capacity thresholds and the name
  // itself, in the same /cluster/resources read it makes anyway. Otherwise one `vm.sh place`
  // exec places the VMs and, with the run's names, finds those that exist.
  const placing = target.node === 'auto' || specs.length > 1 || reuse || pattern !== undefined;
  let nodes = specs.map(() => target.node);
  let local: string | undefined;
  let placement: ProvisionResult['placement'];
  let created = specs;
  let reused = new Map<string, VmRun>();
  let continuedAfter: string | undefined;
  let facts: string | undefined;
  if (placing) {
    // Specs named one by one (no pattern) are checked by each VM's host job only.
    const names = pattern !== undefined || specs.length === 1 ? { names: { pattern: pattern ?? first.name, reuse } } : {};
    const placed = await place(
      { ssh: deps.ssh, connect, provisioner: provisioners.vm, remoteDir: target.remoteDir, nodeAddresses: deps.nodeAddresses },
      { node: target.node, storage: target.storage, bridge: target.bridge, memoryMiB: first.memory, diskGiB: first.disk, count: specs.length, force: request.force, ...names },
    );
    const stats = { execs: placed.stats.execs, uploads: placed.stats.uploads };
    if (!placed.ok) return { placement: { warnings: placed.warnings, stats, error: withNameRemedy(placed.error) }, runs: [] };
    const existing = placed.existing ?? [];
    if (reuse && existing.length > 0) {
      const found = await reuseExisting({ ...deps, connect }, request, existing, stats);
      if ('error' in found) return { placement: { warnings: placed.warnings, stats, error: found.error }, runs: [] };
      reused = found.runs;
    }
    if (!reuse && pattern !== undefined && existing.length > 0) continuedAfter = highestName(pattern, existing.map((vm) => vm.name));
    placement = { warnings: placed.warnings, stats };
    created = (placed.names ?? specs.map((spec) => spec.name)).map((name) => ({ ...first, name }));
    ({ nodes, local } = placed);
    // Only where the placement also checked the names: a job given the facts checks no name.
    if (names.names !== undefined) facts = placed.facts;
    deps.onPlaced?.(placed.warnings);
    if (placed.names) await deps.onNames?.(placed.names);
  }
  const capacity = placing ? 'placed' : request.force ? 'force' : 'check';
  const fresh = await Promise.all(
    created.map(async (spec, index): Promise<VmRun> => {
      const node = nodes[index] as string;
      const onEvent = (event: ProgressEvent, runId: string) => deps.onEvent(spec.name, event, runId);
      try {
        const { outcome, stats } = await runVmJob(
          { ssh: deps.ssh, connect, nodeAddresses: deps.nodeAddresses, provisioner: provisioners.proxmox, onEvent, ...(deps.signal ? { signal: deps.signal } : {}) },
          { target: { ...target, node }, local, spec, sshKeys: request.sshKeys, dryRun: request.dryRun, capacity, keepOnFailure: Boolean(request.keepOnFailure), ...(facts !== undefined && node === local ? { placedFacts: facts } : {}) },
        );
        return { name: spec.name, node, outcome: withNameRemedyOutcome(outcome), stats };
      } catch (error) {
        if (!request.many) throw error;
        return { name: spec.name, node, outcome: failureOutcome(toLinusError(error).toJSON()), stats: emptyJobStats() };
      }
    }),
  );
  // Reused VMs first, in name order, then the new ones in the order they were numbered.
  const runs = [...[...reused.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })), ...fresh];
  return { ...(placement ? { placement } : {}), runs, ...(continuedAfter === undefined ? {} : { continuedAfter }) };
}
