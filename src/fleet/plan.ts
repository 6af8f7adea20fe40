import type { Fleet, FleetVm } from '../config/fleet-file.js';
import { resolveOs } from '../config/os-images.js';
import type { ErrorCode } from '../protocol/codes.js';
import { LinusError } from '../protocol/errors.js';
import type { LiveVm } from './live.js';

// A fleet plan (docs/fleets.md): the file against the cluster, VM by VM, matched by the fleet's tag
// and the name. Pure: the one host read is the caller's (ops/fleet.ts readFleetState).

export type PlanAction = 'create' | 'update' | 'replace' | 'delete' | 'unchanged' | 'conflict';
export const PLAN_ACTIONS: readonly PlanAction[] = ['create', 'update', 'replace', 'delete', 'unchanged', 'conflict'];

// What `vm set` and `vm resize` change in place; every other difference replaces the VM.
export const IN_PLACE_FIELDS = ['cores', 'memory', 'description', 'tags', 'disk'] as const;

export interface PlannedChange {
  action: PlanAction;
  name: string;
  vmId?: number;
  node?: string;
  // What differs, as [the VM's, the file's].
  fields: Record<string, [unknown, unknown]>;
  // A replace: the fields that cannot change in place.
  replaceFor?: string[];
  // Config keys a running VM keeps in [PENDING] until its next reboot.
  pending?: string[];
  // A conflict's reason; for a create or replace, what keeps the file's VM from being created.
  reason?: string;
  wanted?: FleetVm;
  live?: LiveVm;
}

export interface FleetPlan {
  fleet: string;
  tag: string;
  changes: PlannedChange[];
  // VMs with the fleet's tag the file no longer lists: deleted only with prune.
  notInFile: Array<{ name: string; vmId: number; node: string }>;
  summary: Record<PlanAction, number>;
  prune: boolean;
}

// Whether applying the plan would change anything.
export function hasChanges(plan: FleetPlan): boolean {
  return plan.changes.some((change) => ['create', 'update', 'replace', 'delete'].includes(change.action));
}

// Why apply must refuse the plan as it stands, before anything is changed; undefined if it may go on.
export function planRefusal(plan: FleetPlan, options: { allowReplace: boolean }): LinusError | undefined {
  const report = (code: ErrorCode, message: string, remediation: string) => new LinusError({ code, message, remediation });
  const conflicts = plan.changes.filter((change) => change.action === 'conflict');
  if (conflicts.length > 0) {
    const first = conflicts[0] as PlannedChange;
    return report('NAME_CONFLICT', `${conflicts.length} VM(s) of the file conflict with the cluster: ${first.name}: ${first.reason}`, `Adopt a VM with 'linus import --fleet ${plan.fleet} <vm>', rename it, or rename the file's VM; nothing was changed.`);
  }
  const invalid = plan.changes.find((change) => (change.action === 'create' || change.action === 'replace') && change.reason !== undefined);
  if (invalid) return report('CONFIG_INVALID', `${invalid.name} cannot be ${invalid.action === 'create' ? 'created' : 'replaced'}: ${invalid.reason}`, 'Give the VM what a provision needs (an sshKey in its entry, defaults or profile); nothing was changed.');
  const replaced = plan.changes.filter((change) => change.action === 'replace');
  if (replaced.length > 0 && !options.allowReplace) {
    const listed = replaced.map((change) => `${change.name} (${(change.replaceFor ?? []).join(', ')})`).join('; ');
    return report('CONFIRMATION_REQUIRED', `replacing destroys a VM and its disk and creates it anew: ${listed}`, 'Pass --allow-replace if you mean it; nothing was changed.');
  }
  return undefined;
}

type Differences = Record<string, [unknown, unknown]>;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, index) => item === b[index]);

// The file's VM against the VM it matched: what differs, and which of it cannot change in place.
function compare(fleet: Fleet, wanted: FleetVm, live: LiveVm): { fields: Differences; replaceFor: string[] } {
  const { spec } = wanted;
  const named = (key: string) => wanted.named.includes(key) || (['storage', 'bridge'].includes(key) && fleet.target[key] !== undefined);
  const fields: Differences = {};
  const differ = (field: string, have: unknown, want: unknown) => {
    if (have !== want) fields[field] = [have, want];
  };
  if (live.cores !== undefined) differ('cores', live.cores, spec.cores);
  if (live.memoryMiB !== undefined) differ('memory', live.memoryMiB, spec.memory);
  // A disk is sized in whole GiB: one of 10.5 GiB is as big as the file's 11.
  if (live.disk) differ('disk', Math.ceil(live.disk.sizeGiB - 1e-9), spec.disk);
  if (named('description')) differ('description', live.note, wanted.description ?? '');
  if (named('tags')) {
    const want = [...new Set(wanted.tags ?? [])].sort();
    if (!sameList(live.userTags, want)) fields.tags = [live.userTags, want];
  }
  if (live.recorded) differ('os', resolveOs(live.recorded.os), resolveOs(spec.os));
  if (named('imageSha256') && spec.imageSha256 !== undefined && live.recorded?.image !== undefined) differ('image', live.recorded.image, `sha256:${spec.imageSha256.toLowerCase()}`);
  if (named('storage') && live.disk) differ('storage', live.disk.storage, wanted.storage ?? fleet.target.storage);
  if (named('bridge') && live.bridge !== undefined) differ('bridge', live.bridge, wanted.bridge ?? fleet.target.bridge);
  if (live.vlan !== undefined) differ('vlan', live.vlan, spec.vlan ?? null);
  if (live.ip !== undefined) differ('ip', live.ip, spec.ip);
  if (live.gateway !== undefined) differ('gateway', live.gateway, spec.gateway ?? null);
  if (named('vmUser') && live.vmUser !== undefined) differ('vmUser', live.vmUser, spec.vmUser);
  if (named('cpu') && live.cpu !== undefined) differ('cpu', live.cpu, spec.cpu);
  const replaceFor = Object.keys(fields).filter((field) => {
    if (field === 'disk') return (fields.disk as [number, number])[1] < (fields.disk as [number, number])[0];
    return !(IN_PLACE_FIELDS as readonly string[]).includes(field);
  });
  return { fields, replaceFor };
}

// Why a VM the cluster has cannot be the file's VM of that name, or undefined.
function conflictOf(fleet: Fleet, name: string, candidates: LiveVm[]): string | undefined {
  const members = candidates.filter((vm) => vm.fleets.includes(fleet.name));
  if (members.length > 1) return `${members.length} VMs of the fleet are named ${name}: ${members.map((vm) => `${vm.id} on ${vm.node}`).join(', ')}; delete or rename all but one`;
  const [member] = members;
  if (member?.type === 'lxc') return `CT ${member.id} carries the tag ${fleet.tag}: a fleet holds VMs, not containers`;
  if (member?.template) return `VM ${member.id} is a template: a fleet holds VMs, not templates`;
  if (member) return undefined;
  const other = candidates[0];
  if (!other) return undefined;
  const what = other.type === 'lxc' ? `CT ${other.id}` : `VM ${other.id}`;
  if (other.fleets.length > 0) return `${what} '${name}' on node ${other.node} is in fleet '${other.fleets[0]}'`;
  return `${what} '${name}' on node ${other.node} does not carry the tag ${fleet.tag}: 'linus import --fleet ${fleet.name} ${other.id}' adopts it`;
}

export function planFleet(fleet: Fleet, live: readonly LiveVm[], options: { prune: boolean; node: string }): FleetPlan {
  const changes: PlannedChange[] = [];
  const listed = new Set(fleet.vms.map((vm) => vm.name));
  for (const wanted of fleet.vms) {
    const candidates = live.filter((vm) => vm.name === wanted.name);
    const reason = conflictOf(fleet, wanted.name, candidates);
    if (reason !== undefined) {
      changes.push({ action: 'conflict', name: wanted.name, fields: {}, reason, wanted, ...(candidates[0] ? { vmId: candidates[0].id, node: candidates[0].node } : {}) });
      continue;
    }
    const member = candidates.find((vm) => vm.fleets.includes(fleet.name));
    const problem = wanted.cannotCreate === undefined ? {} : { reason: wanted.cannotCreate };
    if (!member) {
      changes.push({ action: 'create', name: wanted.name, node: wanted.node ?? options.node, fields: {}, wanted, ...problem });
      continue;
    }
    const { fields, replaceFor } = compare(fleet, wanted, member);
    const action: PlanAction = replaceFor.length > 0 ? 'replace' : Object.keys(fields).length > 0 ? 'update' : 'unchanged';
    const pending = member.pending.filter((key) => key === 'cores' || key === 'memory');
    changes.push({
      action,
      name: wanted.name,
      vmId: member.id,
      node: member.node,
      fields,
      wanted,
      live: member,
      ...(action === 'replace' ? { replaceFor, ...problem } : {}),
      ...(pending.length > 0 ? { pending } : {}),
    });
  }
  const strays = live.filter((vm) => vm.type === 'qemu' && vm.fleets.includes(fleet.name) && !listed.has(vm.name));
  if (options.prune) for (const vm of strays) changes.push({ action: 'delete', name: vm.name, vmId: vm.id, node: vm.node, fields: {}, live: vm });
  const summary = Object.fromEntries(PLAN_ACTIONS.map((action) => [action, changes.filter((change) => change.action === action).length])) as Record<PlanAction, number>;
  return { fleet: fleet.name, tag: fleet.tag, changes, notInFile: options.prune ? [] : strays.map((vm) => ({ name: vm.name, vmId: vm.id, node: vm.node })), summary, prune: options.prune };
}
