import { parseRecordedSpec, specDiff, type SpecField } from '../config/recorded-spec.js';
import { resolveOs } from '../config/os-images.js';
import type { VmSpec } from '../config/spec.js';
import type { ExistingRow } from '../protocol/data.js';
import type { ErrorCode } from '../protocol/codes.js';

// `linus provision --if-exists reuse` (docs/vm.md): an existing VM of a wanted name is returned
// instead of created when linus made it (tag 'linus') with the settings asked for now. What it
// has now counts: cores, memory and disk from the VM list (a later `vm set`/`resize` shows), the
// rest from the spec recorded in its description.

export type IfExists = 'fail' | 'reuse';

export type ReuseVerdict =
  | { ok: true; vm: ExistingRow; os: string; recordedUser: string }
  | { ok: false; code: ErrorCode; reason: string; remediation: string };

const DIFFERS = "Change the flags to match the VM, delete it ('linus vm delete <name> --yes --stop') and run again, or pick another --name.";

const LABEL: Record<SpecField, string> = {
  os: 'os', cores: 'cores', memory: 'memory', disk: 'disk', vmUser: 'user', ip: 'ip', gateway: 'gateway', vlan: 'vlan', cpu: 'cpu', upgrade: 'upgrade', password: 'password',
};
const UNIT: Partial<Record<SpecField, string>> = { memory: ' MiB', disk: ' GiB' };

function shown(field: SpecField, value: unknown): string {
  if (value === undefined) return 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return `${String(value)}${UNIT[field] ?? ''}`;
}

// "cores: wanted 4, VM has 2; disk: wanted 20 GiB, VM has 30 GiB" (empty when they match).
export function diffText(diff: ReturnType<typeof specDiff>): string {
  return (Object.entries(diff) as Array<[SpecField, [unknown, unknown]]>)
    .map(([field, [wanted, has]]) => `${LABEL[field]}: wanted ${shown(field, wanted)}, VM has ${shown(field, has)}`)
    .join('; ');
}

// Whether <vm> may stand for <wanted>; <node> is the --node asked for ('auto' matches any).
export function reuseVerdict(wanted: VmSpec, node: string, vm: ExistingRow): ReuseVerdict {
  if (vm.type !== 'qemu' || !vm.linus) {
    return { ok: false, code: 'VM_NOT_OWNED', reason: `it is not linus' (no 'linus' tag${vm.type === 'lxc' ? ': a container' : ''}), and linus reuses only VMs it made`, remediation: 'Pick another --name.' };
  }
  if (vm.template) return { ok: false, code: 'NAME_CONFLICT', reason: 'it is a template', remediation: 'Pick another --name, or clone the template (linus vm clone).' };
  const recorded = parseRecordedSpec(vm.spec ?? undefined);
  if (!recorded) {
    return { ok: false, code: 'NAME_CONFLICT', reason: 'its description does not start with the spec linus records (a clone, or a description set later), so linus cannot tell whether it matches', remediation: DIFFERS };
  }
  // A VM whose stats Proxmox has not broadcast yet lists 0: its record stands.
  const live = { ...recorded, ...(vm.cores > 0 ? { cores: vm.cores } : {}), ...(vm.memoryMiB > 0 ? { memory: vm.memoryMiB } : {}), ...(vm.diskGiB > 0 ? { disk: vm.diskGiB } : {}) };
  const diff = specDiff(wanted, live);
  const text = [diffText(diff), node !== 'auto' && node !== vm.node ? `node: wanted ${node}, VM is on ${vm.node}` : ''].filter(Boolean).join('; ');
  if (text !== '') return { ok: false, code: 'NAME_CONFLICT', reason: `it differs: ${text}`, remediation: DIFFERS };
  if (vm.status !== 'running') {
    return { ok: false, code: 'VM_WRONG_STATE', reason: `it matches but is ${vm.status}`, remediation: `Start it with 'linus vm start ${vm.id}' and run again.` };
  }
  return { ok: true, vm, os: resolveOs(recorded.os), recordedUser: recorded.user };
}
