import { fleetsOf } from '../config/fleet-file.js';
import { parseRecordedSpec, type RecordedSpec } from '../config/recorded-spec.js';
import type { FleetVmRow } from '../protocol/data.js';

// A guest as a fleet plan sees it: what `vm.sh fleet-state` read, in the terms of a fleet file.
// A value the VM does not tell (a foreign VM without cloud-init, no net0) is undefined: the plan
// does not compare it.

export interface LiveDisk {
  // The config key (scsi0, virtio0, ...): the disk a resize grows.
  key: string;
  storage: string;
  sizeGiB: number;
}

export interface LiveVm {
  id: number;
  name: string;
  node: string;
  type: 'qemu' | 'lxc';
  status: string;
  // As Proxmox keeps them.
  tags: string[];
  // Lowercase tags that are not linus' own (linus, linus-<run>, linus-fleet-<name>).
  userTags: string[];
  linus: boolean;
  // The fleets it is in (the <name> of its linus-fleet-<name> tags).
  fleets: string[];
  template: boolean;
  lock?: string;
  cores?: number;
  memoryMiB?: number;
  // The CPU type (Proxmox's default, kvm64, when the config names none).
  cpu?: string;
  disk?: LiveDisk;
  bridge?: string;
  // null: net0 has no VLAN tag.
  vlan?: number | null;
  vmUser?: string;
  ip?: string;
  gateway?: string | null;
  // The whole description, and the note: the lines after a provision's spec summary (or all).
  description?: string;
  note: string;
  recorded?: RecordedSpec;
  // Config keys waiting for a reboot (a running VM's [PENDING] section).
  pending: string[];
}

// A Proxmox property string: "virtio=BC:..,bridge=vmbr0,tag=5" or "local-lvm:vm-100-disk-0,size=20G".
function propertyString(value: string): { head: string; keys: Record<string, string> } {
  const [head = '', ...rest] = value.split(',');
  const keys: Record<string, string> = {};
  for (const part of [head, ...rest]) {
    const at = part.indexOf('=');
    if (at > 0) keys[part.slice(0, at)] = part.slice(at + 1);
  }
  return { head, keys };
}

const UNITS: Record<string, number> = { '': 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 };

// format_size ("20G", "10752M", bytes) in GiB.
export function sizeGiB(size: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$/.exec(size);
  return match ? Number(match[1]) * (UNITS[match[2] as string] as number) : undefined;
}

const DISK_KEY = /^(scsi|virtio|sata|ide)[0-9]+$/;

// The boot disk: the first disk of `boot: order=...` (else of scsi0, virtio0, sata0, ide0) that is
// not a CD-ROM or a cloud-init drive.
function bootDisk(config: Record<string, string>): LiveDisk | undefined {
  const order = propertyString(config.boot ?? '').keys.order?.split(';') ?? [];
  const candidates = [...order, 'scsi0', 'virtio0', 'sata0', 'ide0'].filter((key) => DISK_KEY.test(key));
  for (const key of candidates) {
    const value = config[key];
    if (value === undefined) continue;
    const { head, keys } = propertyString(value);
    if (keys.media === 'cdrom' || head.includes('cloudinit') || head === 'none') continue;
    const size = keys.size === undefined ? undefined : sizeGiB(keys.size);
    const storage = head.includes(':') ? head.slice(0, head.indexOf(':')) : undefined;
    if (size === undefined || storage === undefined) continue;
    return { key, storage, sizeGiB: size };
  }
  return undefined;
}

const isLinusTag = (tag: string) => tag === 'linus' || tag.startsWith('linus-');

export function liveVm(row: FleetVmRow): LiveVm {
  const lower = row.tags.map((tag) => tag.toLowerCase());
  const vm: LiveVm = {
    id: row.id,
    name: row.name,
    node: row.node,
    type: row.type,
    status: row.status,
    tags: row.tags,
    userTags: [...new Set(lower.filter((tag) => !isLinusTag(tag)))].sort(),
    linus: lower.includes('linus'),
    fleets: fleetsOf(row.tags),
    template: false,
    note: '',
    pending: row.pending,
  };
  const config = row.config;
  if (config === null) return vm;
  vm.template = /^(1|on|yes|true)$/i.test(config.template ?? '');
  if (config.lock !== undefined) vm.lock = config.lock;
  // qemu-server's defaults for what the config leaves out (QemuServer.pm cores, l.427; Memory.pm
  // memory_fmt current, l.76; CPUConfig.pm cputype, l.300).
  vm.cores = Number(config.cores ?? 1);
  vm.memoryMiB = Number(/^(?:current=)?([0-9]+)/.exec(config.memory ?? '512')?.[1] ?? 512);
  const cpu = propertyString(config.cpu ?? 'kvm64');
  vm.cpu = cpu.keys.cputype ?? cpu.head;
  const disk = bootDisk(config);
  if (disk) vm.disk = disk;
  if (config.net0 !== undefined) {
    const net = propertyString(config.net0).keys;
    if (net.bridge !== undefined) vm.bridge = net.bridge;
    vm.vlan = net.tag === undefined ? null : Number(net.tag);
  }
  const recorded = parseRecordedSpec(config.description);
  if (recorded) vm.recorded = recorded;
  if (config.ciuser !== undefined) vm.vmUser = config.ciuser;
  else if (recorded) vm.vmUser = recorded.user;
  if (config.ipconfig0 !== undefined) {
    const ip = propertyString(config.ipconfig0).keys;
    if (ip.ip !== undefined) vm.ip = ip.ip;
    vm.gateway = ip.gw ?? null;
  } else if (recorded) {
    vm.ip = recorded.ip;
    vm.gateway = recorded.gw ?? null;
  }
  if (config.description !== undefined) {
    vm.description = config.description;
    vm.note = recorded ? config.description.split('\n').slice(1).join('\n') : config.description;
  }
  return vm;
}
