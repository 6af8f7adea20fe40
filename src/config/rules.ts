import { z } from 'zod';

// The rules a value must meet, written once for the driver and the host. The zod schemas of
// config/spec.ts and vm/ are built from them; provisioners/rules-script.ts writes them, with the
// CPU types (cpu.ts) and the OS catalog (os-images.ts), into the bash library shell/lib/rules.sh
// of every bundle at build time. tests/unit/config/rules-parity.test.ts runs the bundled host
// checks on the same values as the schemas.

// A pattern is a POSIX extended regular expression that JavaScript reads alike: anchored, no
// backslash inside brackets, no \d \w \s, no (?...); [:cntrl:] is the only bracket class (see
// jsRegExp). `rule` completes "--<option> ..." in a message.
export interface Pattern {
  re: string;
  rule: string;
}

const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = `${IPV4_OCTET}(\\.${IPV4_OCTET}){3}`;
const DNS_LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const STORAGE_ID = '[A-Za-z][A-Za-z0-9_.-]{0,99}';
const VMID = '[1-9][0-9]{2,8}';
// A path component other than . and .. (an empty one, as in //, is harmless).
const PATH_PART = '([A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.\\.[A-Za-z0-9._-]+)';

export const PATTERNS = {
  // Lowercase although Proxmox's dns-name format takes mixed case and dots (pve-common
  // JSONSchema.pm pve_verify_dns_name, l.675): the name is the guest's hostname (qemu-server
  // Cloudinit.pm get_hostname_fqdn, l.112-124; a dot would split it into host and domain),
  // hostnamectl lowercases a static hostname and DNS ignores case, while Proxmox compares names
  // case-sensitively, so Web01 next to web01 would be two VMs with one host name.
  vmName: { re: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', rule: 'must be a DNS label: lowercase letters, digits and inner hyphens, at most 63 characters' },
  // pve-common JSONSchema.pm pve_verify_node_name (l.347), at most 63 as a host name label.
  node: { re: `^${DNS_LABEL}$`, rule: 'must be a node name (letters, digits, inner hyphens, at most 63)' },
  // A letter first, as pve-common JSONSchema.pm parse_id (l.292) requires of a storage ID.
  storage: { re: `^${STORAGE_ID}$`, rule: 'must be a storage ID (a letter, then letters, digits, - _ .)' },
  // An interface name (at most 15, Linux IFNAMSIZ) starting with a letter, as vmbrN, OVS bridges
  // and SDN VNets do (pve-common JSONSchema.pm pve_verify_iface, l.710).
  bridge: { re: '^[A-Za-z][A-Za-z0-9_.-]{0,14}$', rule: 'must be a bridge name such as vmbr0' },
  vmUser: { re: '^[a-z_][a-z0-9_-]{0,31}$', rule: 'must be a Linux user name (lowercase, at most 32 characters)' },
  runId: { re: '^[a-z0-9][a-z0-9-]{5,40}$', rule: 'must be a run id' },
  // pve-common JSONSchema.pm pve_verify_vmid (l.309): 100 to 999999999.
  vmid: { re: `^${VMID}$`, rule: 'must be a VM ID from 100 to 999999999' },
  ipv4: { re: `^${IPV4}$`, rule: 'must be an IPv4 address such as 192.168.1.10' },
  ipv4Cidr: { re: `^${IPV4}/([1-9]|[12][0-9]|3[0-2])$`, rule: "must be 'dhcp' or an IPv4 address with a prefix from 1 to 32, such as 192.168.1.10/24" },
  // The shape of an IPv6 address, for a DNS server (qm's nameserver is an address-list of IPv4
  // and IPv6, qemu-server QemuServer.pm l.825).
  ipv6: { re: '^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$', rule: 'must be an IPv6 address' },
  domain: { re: `^(${DNS_LABEL}\\.)*${DNS_LABEL}$`, rule: 'must be a domain name' },
  sha256: { re: '^[0-9A-Fa-f]{64}$', rule: 'must be 64 hex characters' },
  // The driver sends no file:// URL (a file on the Proxmox host: /etc/shadow is one); the host
  // script takes one for test beds, by the same pattern (shell/lib/spec.sh _valid_url).
  url: { re: "^https?://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+$", rule: 'must be an http or https URL' },
  remoteDir: { re: `^(/${PATH_PART}?)+$`, rule: 'must be an absolute path of letters, digits and . _ - / without . or .. parts' },
  cpuCustom: { re: '^custom-[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$', rule: 'must be a custom CPU model' },
  // DSA (ssh-dss) is left out: OpenSSH disables it since 7.0 and dropped it in 9.8.
  sshKey: {
    re: '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,3}( [^[:cntrl:]]*)?$',
    rule: 'must be an OpenSSH public key',
  },
  diskId: { re: '^(scsi|virtio|sata|ide)[0-9]{1,2}$', rule: 'must be a disk such as scsi0' },
  size: { re: '^(\\+?)([1-9][0-9]{0,5})$', rule: 'must be GiB (e.g. 40) or +GiB (e.g. +10)' },
  oneLine: { re: '^[^[:cntrl:]]*$', rule: 'must be one line without control characters' },
  // A fleet's name: its VMs carry the tag linus-fleet-<name> (docs/fleets.md).
  fleetName: { re: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$', rule: 'must be lowercase letters, digits and inner hyphens, at most 40 characters' },
  // A tag a fleet file gives its VMs: Proxmox's pve-tag format (pve-common JSONSchema.pm
  // $PVE_TAG_RE, l.890: [a-z0-9_][a-z0-9_\-\+\.]* case-insensitive), lowercase so that a tag
  // compares as Proxmox matches it.
  vmTag: { re: '^[a-z0-9_][a-z0-9_+.-]{0,63}$', rule: 'must be a Proxmox tag: lowercase letters, digits and _ + . - (at most 64)' },
  // What a run's placement read of its own node (vm.sh place `facts`, shell/lib/host.sh
  // placed_facts), handed to the jobs of its VMs there so that they do not read it again.
  placedFacts: {
    re: `^node=${DNS_LABEL};storage=${STORAGE_ID};pve=[89]\\.[0-9]{1,3};storage_type=[a-z0-9]{0,40};snippets=(${STORAGE_ID})?;snippets_all=(${STORAGE_ID}(,${STORAGE_ID})*)?;bridge_type=(bridge|OVSBridge|vnet);bridge_cidr=(${IPV4}/([0-9]|[12][0-9]|3[0-2]))?;free_ids=${VMID}(,${VMID})*;seen=[1-9][0-9]{0,11}$`,
    rule: 'must be the facts of a placement (vm.sh place)',
  },
} as const satisfies Record<string, Pattern>;

export type PatternName = keyof typeof PATTERNS;

// Integer ranges, both ends included.
export interface Range {
  min: number;
  max: number;
}

// qm's memory has a minimum of 16 and no maximum of its own; with memory hotplug qemu-server
// refuses more than 4 TiB (qemu-server Memory.pm get_max_mem, l.96-129: `4 * 1024 * 1024` MiB),
// its only upper bound.
const MEMORY_MAX_MIB = 4 * 1024 * 1024;

export const RANGES = {
  cores: { min: 1, max: 128 },
  // A new VM boots a cloud image: 512 MiB is the least they run with.
  memory: { min: 512, max: MEMORY_MAX_MIB },
  // Any VM linus changes or places.
  vmMemory: { min: 64, max: MEMORY_MAX_MIB },
  disk: { min: 1, max: 65_536 },
  // Seconds for the address and SSH of a provision or clone together: linus' own deadline.
  timeout: { min: 1, max: 86_400 },
  // Seconds a power operation or a delete waits for the VM's state.
  stateTimeout: { min: 1, max: 3600 },
  // qemu-server Network.pm net `tag` (l.87-90).
  vlan: { min: 1, max: 4094 },
  // VMs of one `provision --count`.
  count: { min: 1, max: 100 },
} as const satisfies Record<string, Range>;

export type RangeName = keyof typeof RANGES;

export const LIMITS = {
  // resolv.conf reads at most 3 nameserver lines (MAXNS).
  maxDnsServers: 3,
  maxDomainLength: 253,
  maxUrlLength: 2000,
  // Bytes, as the host counts them.
  maxDescriptionBytes: 8000,
} as const;

// The LINUS_STEP names of a provision and of a clone, in order (`LINUS_STEP:<i>/<n>:<name>`).
export const PROVISION_STEPS = ['validate', 'image', 'claim', 'create', 'cloudinit', 'start', 'ip', 'ssh', 'report'] as const;
export const CLONE_STEPS = ['validate', 'claim', 'create', 'cloudinit', 'start', 'ip', 'ssh', 'report'] as const;
export type StepName = (typeof PROVISION_STEPS)[number] | (typeof CLONE_STEPS)[number];

// Every step as progress shows it (the CLI's status line, `linus mcp` progress notifications).
export const STEP_TEXT: Record<StepName, string> = {
  validate: 'checking the host',
  image: 'fetching and verifying the image',
  claim: 'claiming a VM ID',
  create: 'creating the VM',
  cloudinit: 'configuring cloud-init',
  start: 'starting the VM',
  ip: 'waiting for its IP address',
  ssh: 'waiting for SSH',
  report: 'reporting',
};

// The JavaScript form of a pattern: [:cntrl:] spelled out (C0 controls and DEL, as bash sees them
// with LC_ALL=C).
export function jsRegExp(re: string): RegExp {
  return new RegExp(re.replaceAll('[:cntrl:]', '\\x00-\\x1f\\x7f'));
}

const compiled = Object.fromEntries(Object.entries(PATTERNS).map(([name, pattern]) => [name, jsRegExp(pattern.re)])) as Record<PatternName, RegExp>;

export function matches(name: PatternName, value: string): boolean {
  return compiled[name].test(value);
}

// A string that matches <name>, with its rule as the message.
export function patternSchema(name: PatternName): z.ZodString {
  return z.string().regex(compiled[name], { error: PATTERNS[name].rule });
}

// An integer in <name>'s range from a number or a numeric string (flags, files, environment).
// One message for every way a value misses the range, naming what was given: a flag such as
// `--disk 20G` arrives as NaN, which zod would report as "expected number, received NaN".
export function rangeSchema(name: RangeName): z.ZodCoercedNumber {
  const { min, max } = RANGES[name];
  const error = (issue: { input?: unknown }) => `must be a whole number from ${min} to ${max}${Number.isNaN(issue.input) ? ' (digits only, no unit)' : `, got ${String(issue.input)}`}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}
