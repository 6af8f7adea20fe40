import {
  verifyAddressList,
  verifyConfigIdList,
  verifyDnsName,
  verifyIpConfig,
  verifyTagList,
  verifyUrlEncoded,
  verifyVmid,
} from './formats.js';
import { verifyCpu } from './cpu-models.js';
import type { Prop, Props } from './param-schema.js';
import { parseNet } from './property-string.js';

// The qemu-server config options (QemuServer.pm `$confdesc`) qm create/set accept, with the checks
// whose messages scripts see. Options without a listed check are stored as passed.
const bool: Prop = { type: 'boolean', optional: true };
const str: Prop = { type: 'string', optional: true };
const int = (minimum?: number, maximum?: number): Prop => ({ type: 'integer', optional: true, minimum, maximum });
const enumOf = (values: readonly string[]): Prop => ({ type: 'string', optional: true, enum: values });

export const SCSIHW = ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] as const;
export const OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] as const;
export const LOCKS = ['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended'] as const;

function verifyNet(value: string): void {
  const nic = parseNet(value);
  if (!nic) throw new Error('format error\n');
  const bridge = nic.keys.bridge;
  if (bridge !== undefined && !/^[-_.\w\d]+$/.test(bridge)) throw new Error(`invalid bridge ID '${bridge}'\n`);
  if (nic.mac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(nic.mac)) {
    throw new Error('value does not look like a valid unicast MAC address\n');
  }
}

function indexed(prefix: string, count: number, prop: Prop): Props {
  const out: Props = {};
  for (let i = 0; i < count; i += 1) out[`${prefix}${i}`] = prop;
  return out;
}

export const VM_CONFIG_PROPS: Props = {
  acpi: bool,
  affinity: str,
  agent: str,
  arch: enumOf(['x86_64', 'aarch64']),
  args: str,
  audio0: str,
  autostart: bool,
  balloon: int(0),
  bios: enumOf(['seabios', 'ovmf']),
  boot: str,
  bootdisk: str,
  cdrom: str,
  cicustom: str,
  cipassword: { type: 'string', optional: true, optionalValue: true },
  citype: enumOf(['configdrive2', 'nocloud', 'opennebula']),
  ciupgrade: bool,
  ciuser: str,
  cores: int(1),
  cpu: { type: 'string', optional: true, format: verifyCpu },
  cpulimit: { type: 'number', optional: true, minimum: 0, maximum: 128 },
  cpuunits: int(1, 262144),
  description: str,
  efidisk0: str,
  freeze: bool,
  hookscript: str,
  hotplug: str,
  hugepages: enumOf(['any', '2', '1024']),
  ...indexed('ide', 4, str),
  ...indexed('ipconfig', 32, { type: 'string', optional: true, format: verifyIpConfig }),
  keephugepages: bool,
  keyboard: str,
  kvm: bool,
  localtime: bool,
  lock: enumOf(LOCKS),
  machine: str,
  memory: { type: 'string', optional: true, pattern: /^(?:current=)?\d+$/ },
  migrate_downtime: { type: 'number', optional: true, minimum: 0 },
  migrate_speed: int(0),
  name: { type: 'string', optional: true, format: verifyDnsName },
  nameserver: { type: 'string', optional: true, format: verifyAddressList },
  ...indexed('net', 32, { type: 'string', optional: true, format: verifyNet }),
  numa: bool,
  onboot: bool,
  ostype: enumOf(OSTYPES),
  protection: bool,
  reboot: bool,
  rng0: str,
  ...indexed('sata', 6, str),
  ...indexed('scsi', 31, str),
  scsihw: enumOf(SCSIHW),
  searchdomain: str,
  ...indexed('serial', 4, { type: 'string', optional: true, pattern: /^(\/dev\/.+|socket)$/ }),
  shares: int(0, 50000),
  smbios1: str,
  smp: int(1),
  sockets: int(1),
  sshkeys: { type: 'string', optional: true, format: verifyUrlEncoded },
  startdate: str,
  startup: str,
  tablet: bool,
  tags: { type: 'string', optional: true, format: verifyTagList },
  tdf: bool,
  template: bool,
  tpmstate0: str,
  ...indexed('unused', 256, str),
  ...indexed('usb', 5, str),
  vcpus: int(1),
  vga: str,
  ...indexed('virtio', 16, str),
  vmgenid: str,
  vmstatestorage: str,
  watchdog: str,
};

export const VMID_PROP: Prop = { type: 'integer', format: verifyVmid, minimum: 100, maximum: 999999999 };

export const CREATE_PROPS: Props = {
  vmid: VMID_PROP,
  ...VM_CONFIG_PROPS,
  archive: str,
  bwlimit: int(0),
  force: bool,
  'ha-managed': bool,
  'live-restore': bool,
  pool: str,
  start: bool,
  storage: str,
  unique: bool,
};

export const SET_PROPS: Props = {
  vmid: VMID_PROP,
  ...VM_CONFIG_PROPS,
  delete: { type: 'string', optional: true, format: verifyConfigIdList, list: true },
  digest: str,
  force: bool,
  revert: { type: 'string', optional: true, format: verifyConfigIdList, list: true },
  skiplock: bool,
};

// Options that take effect on a running VM without a restart (the default `hotplug` is
// network,disk,usb; cores/memory need cpu/memory hotplug, so they stay pending).
export function isHotpluggable(key: string): boolean {
  if (/^(net|scsi|sata|virtio|ide|usb)\d+$/.test(key)) return !/^ide/.test(key);
  return [
    'name', 'description', 'tags', 'onboot', 'protection', 'boot', 'startup', 'lock', 'agent',
    'ciuser', 'cipassword', 'sshkeys', 'nameserver', 'searchdomain', 'cicustom', 'citype', 'ciupgrade',
    'balloon', 'cpulimit', 'cpuunits', 'hookscript', 'tablet', 'shares',
  ].includes(key) || /^(ipconfig|unused)\d+$/.test(key);
}
