import { Document } from 'yaml';
import { hasX86_64v2, isKnownCpu } from '../config/cpu.js';
import { fleetTag, parseFleet } from '../config/fleet-file.js';
import { OS_CATALOG, resolveOs } from '../config/os-images.js';
import { LIMITS, matches } from '../config/rules.js';
import { readFleetState, adoptVm, type VmAdopt } from '../ops/fleet.js';
import type { OpsDeps } from '../ops/run-op.js';
import { checkVmRef } from '../ops/vm-ref.js';
import { LinusError } from '../protocol/errors.js';
import type { ErrorReport } from '../protocol/transcript.js';
import { liveVm, type LiveVm } from './live.js';
import { planFleet } from './plan.js';

// `linus import --fleet NAME [VM...]` (docs/fleets.md): the fleet file of existing VMs, linus-made
// or not, and the tags that put them in the fleet. The file says what each VM is, so that a plan
// of it right after shows no changes; that is checked before any VM is tagged.

export interface ImportedVm {
  name: string;
  vmId: number;
  node: string;
  ok: boolean;
  // The tags were written (false: the VM was in the fleet already).
  changed?: boolean;
  droppedRuns?: string[];
  error?: ErrorReport;
}

export interface ImportResult {
  fleet: string;
  yaml: string;
  vms: ImportedVm[];
  stats: { execs: number; uploads: number };
}

// The keys an import writes per VM, in this order; those equal for every VM go to defaults.
const SHARED_KEYS = ['os', 'cores', 'memory', 'disk', 'vmUser', 'cpu', 'node', 'storage', 'bridge', 'vlan'] as const;

// What the file says of one VM: only what the VM tells (a plan compares nothing else).
function entryOf(vm: LiveVm): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: vm.name };
  const os = vm.recorded ? resolveOs(vm.recorded.os) : undefined;
  if (os !== undefined && os in OS_CATALOG) entry.os = os;
  entry.cores = vm.cores;
  entry.memory = vm.memoryMiB;
  if (vm.disk) entry.disk = Math.ceil(vm.disk.sizeGiB - 1e-9);
  if (vm.vmUser !== undefined && matches('vmUser', vm.vmUser)) entry.vmUser = vm.vmUser;
  // A CPU type the spec takes, and that the recorded OS boots on; else the file leaves CPU alone.
  if (vm.cpu !== undefined && isKnownCpu(vm.cpu) && !(os !== undefined && os in OS_CATALOG && OS_CATALOG[os].needsX86_64v2 && !hasX86_64v2(vm.cpu))) entry.cpu = vm.cpu;
  if (vm.ip !== undefined && vm.ip !== 'dhcp') entry.ip = vm.ip;
  if (vm.gateway) entry.gateway = vm.gateway;
  if (vm.vlan !== undefined && vm.vlan !== null) entry.vlan = vm.vlan;
  entry.node = vm.node;
  if (vm.disk) entry.storage = vm.disk.storage;
  if (vm.bridge !== undefined) entry.bridge = vm.bridge;
  // A note the file can hold (one line); a longer description stays as it is, unmanaged.
  if (vm.note !== '' && matches('oneLine', vm.note) && Buffer.byteLength(vm.note) <= LIMITS.maxDescriptionBytes) entry.description = vm.note;
  if (vm.userTags.length > 0 && vm.userTags.every((tag) => matches('vmTag', tag))) entry.tags = vm.userTags;
  return entry;
}

export function fleetYaml(fleet: string, vms: readonly LiveVm[]): string {
  const entries = vms.map(entryOf);
  const defaults: Record<string, unknown> = {};
  if (entries.length > 1) {
    for (const key of SHARED_KEYS) {
      const values = entries.map((entry) => entry[key]);
      if (values.every((value) => value !== undefined && value === values[0])) {
        defaults[key] = values[0];
        for (const entry of entries) delete entry[key];
      }
    }
  }
  const doc = new Document({ fleet, ...(Object.keys(defaults).length > 0 ? { defaults } : {}), vms: entries });
  doc.commentBefore = ` Fleet ${fleet}, written by 'linus import' from ${vms.length} VM(s) (docs/fleets.md).\n A VM the file creates or replaces needs sshKey (here or in the profile).`;
  return doc.toString({ lineWidth: 0 });
}

// The VMs the references name, and the fleet's own VMs: each exactly one VM.
function select(fleet: string, rows: LiveVm[], refs: readonly string[]): { selected: LiveVm[]; named: LiveVm[] } {
  const named: LiveVm[] = [];
  for (const ref of refs) {
    const matched = /^[0-9]+$/.test(ref) ? rows.filter((vm) => vm.id === Number(ref)) : rows.filter((vm) => vm.name === ref);
    if (matched.length === 0) throw new LinusError({ code: 'VM_NOT_FOUND', message: /^[0-9]+$/.test(ref) ? `VM ${ref} does not exist in the cluster` : `no VM is named '${ref}'`, remediation: "Run 'linus vm list' for the VMs there are." });
    if (matched.length > 1) throw new LinusError({ code: 'INVALID_SPEC', message: `${matched.length} guests are named '${ref}': ${matched.map((vm) => `${vm.id} on ${vm.node}`).join(', ')}`, remediation: 'Name the VM by its ID.' });
    const vm = matched[0] as LiveVm;
    if (vm.type !== 'qemu') throw new LinusError({ code: 'INVALID_SPEC', message: `${vm.id} is a container (CT): a fleet holds VMs` });
    if (vm.template) throw new LinusError({ code: 'VM_IS_TEMPLATE', message: `VM ${vm.id} is a template: a fleet holds VMs, not templates` });
    const other = vm.fleets.find((name) => name !== fleet);
    if (other !== undefined) throw new LinusError({ code: 'VM_NOT_OWNED', message: `VM ${vm.id} '${vm.name}' is in fleet '${other}': a VM belongs to one fleet`, remediation: `Import it into fleet '${other}', or take its tag linus-fleet-${other} off by hand first.` });
    if (!matches('vmName', vm.name)) throw new LinusError({ code: 'INVALID_SPEC', message: `VM ${vm.id} is named '${vm.name}', which a fleet file cannot name (a VM name there must be a DNS label in lowercase)`, remediation: `Rename it first: linus vm set ${vm.id} --name <name> --foreign` });
    if (!named.includes(vm)) named.push(vm);
  }
  const members = rows.filter((vm) => vm.type === 'qemu' && vm.fleets.includes(fleet) && !named.includes(vm));
  const selected = [...members, ...named].sort((a, b) => a.id - b.id);
  const names = selected.map((vm) => vm.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new LinusError({ code: 'NAME_CONFLICT', message: `two VMs of the fleet would be named '${twice}': ${selected.filter((vm) => vm.name === twice).map((vm) => vm.id).join(', ')}`, remediation: 'Rename one of them first.' });
  if (selected.length === 0) throw new LinusError({ code: 'VM_NOT_FOUND', message: `fleet '${fleet}' has no VMs, and none were named`, remediation: `Name the VMs to import: linus import --fleet ${fleet} web01 102 ...` });
  return { selected, named };
}

export async function importFleet(ops: OpsDeps, fleet: string, refs: readonly string[], options: { onStep?: (name: string, text: string) => void } = {}): Promise<ImportResult> {
  for (const ref of refs) checkVmRef(ref);
  const stats = { execs: 0, uploads: 0 };
  const ids = refs.filter((ref) => /^[0-9]+$/.test(ref)).map(Number);
  const names = refs.filter((ref) => !/^[0-9]+$/.test(ref));
  const state = await readFleetState(ops, fleetTag(fleet), names, ids);
  stats.execs += state.stats.execs;
  stats.uploads += state.stats.uploads;
  if (!state.ok) throw new LinusError({ code: state.error.code, message: state.error.message, remediation: state.error.remediation });
  const { selected, named } = select(fleet, state.data.map(liveVm), refs);
  const yaml = fleetYaml(fleet, selected);
  // The file must read back, and plan as no change once the VMs carry the fleet's tag.
  const parsed = parseFleet(yaml, `fleet ${fleet} (import)`, {});
  const adopted = selected.map((vm) => ({ ...vm, linus: true, fleets: [fleet] }));
  const plan = planFleet(parsed, adopted, { prune: false, node: 'auto' });
  const drift = plan.changes.find((change) => change.action !== 'unchanged');
  if (drift) throw new LinusError({ code: 'INTERNAL', message: `the file written for ${drift.name} would plan as ${drift.action} (${JSON.stringify(drift.fields)}): nothing was tagged` });
  const vms = await Promise.all(
    named.map(async (vm): Promise<ImportedVm> => {
      options.onStep?.(vm.name, `tag VM ${vm.id} into fleet ${fleet}`);
      const result = await adoptVm(ops, vm.id, fleet);
      stats.execs += result.stats.execs;
      stats.uploads += result.stats.uploads;
      if (!result.ok) return { name: vm.name, vmId: vm.id, node: vm.node, ok: false, error: result.error };
      const data: VmAdopt = result.data;
      return { name: vm.name, vmId: vm.id, node: data.node, ok: true, changed: data.changed, droppedRuns: data.droppedRuns };
    }),
  );
  return { fleet, yaml, vms, stats };
}
