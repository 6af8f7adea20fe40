import { z } from 'zod';

// Release facts per supported PVE version (pve-manager version/repoid from its git history,
// see ../../docs/simulator.md). qemuServer decides the `qm disk import` success line.
export const VERSION_PROFILES = {
  '8.2': { manager: '8.2.4', repoid: 'faa83925c9641325', kernel: '6.8.8-4-pve', qemuServer: '8.2.4', pveQemu: '9.0.2' },
  '8.4': { manager: '8.4.1', repoid: '2a5fa54a8503f96d', kernel: '6.8.12-9-pve', qemuServer: '8.3.13', pveQemu: '9.2.0' },
  '9.0': { manager: '9.0.10', repoid: 'deb1ca707ec72a89', kernel: '6.14.11-2-pve', qemuServer: '9.0.23', pveQemu: '10.0.2' },
  '9.1': { manager: '9.1.1', repoid: 'f4d3f125ffae50e9', kernel: '6.17.2-1-pve', qemuServer: '9.1.0', pveQemu: '10.1.2' },
} as const;
export type VersionProfile = keyof typeof VERSION_PROFILES;

const GiB = 1024 ** 3;

// An IPv4 address in 127.0.0.0/8: simulated guests and machines are real loopback sockets.
const loopbackIp = z.string().regex(/^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/).refine((ip) => ip.split('.').every((part) => Number(part) <= 255));

// A network a guest NIC can be on (a bridge untagged, a VLAN on it, or an SDN VNet): what DHCP
// hands out there and which addresses the LAN's router and the Proxmox node itself hold.
const lanFields = {
  network: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}\/(1[6-9]|2[0-9]|30)$/),
  // The LAN's router: DHCP gives it to guests as their gateway.
  gateway: loopbackIp.optional(),
  // The node's own address on this network, as /etc/network/interfaces configures it; absent,
  // the node cannot reach the network's addresses directly (no neighbour entries, no probe).
  hostAddress: loopbackIp.optional(),
  // A DHCP server serves this network.
  dhcp: z.boolean().default(true),
};

export const vlanSchema = z.object({ tag: z.number().int().min(1).max(4094), ...lanFields }).strict();

export const bridgeSchema = z
  .object({
    name: z.string().regex(/^[-_.\w]+$/),
    vlanAware: z.boolean().default(false),
    ...lanFields,
    // VLANs on this bridge with their own settings; other tags get a derived network (lan.ts).
    vlans: z.array(vlanSchema).default([]),
  })
  .strict();

// An SDN VNet (`get_local_vnets`): a bridge name guests can use, listed by `network --type any_bridge`.
export const vnetSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9]{0,7}$/),
    zone: z.string().regex(/^[a-z][a-z0-9]{0,7}$/),
    alias: z.string().optional(),
    vlanaware: z.boolean().default(false),
    // Nodes of the zone; absent = every node.
    nodes: z.array(z.string()).optional(),
    ...lanFields,
  })
  .strict();

// vmbr0 of a node without bridges of its own: the first /24 of the host's block <net> (`127.<block>`,
// address-block.ts), router .1, the node .2.
export function defaultBridge(net: string) {
  return { name: 'vmbr0', vlanAware: true, network: `${net}.0.0/24`, gateway: `${net}.0.1`, hostAddress: `${net}.0.2` };
}

export const nodeSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/),
    online: z.boolean().default(true),
    cpus: z.number().int().positive().default(16),
    memoryBytes: z.number().int().positive().default(64 * GiB),
    // Absent: defaultBridge of the host's address block.
    bridges: z.array(bridgeSchema).optional(),
  })
  .strict();

export const hostSettingsSchema = z
  .object({
    version: z.enum(Object.keys(VERSION_PROFILES) as [VersionProfile, ...VersionProfile[]]).default('8.4'),
    // The loopback /16 (127.<block>.0.0/16) of this host's networks: layoutSimHost leases one per
    // host (address-block.ts); 88 for settings read without a host.
    addressBlock: z.number().int().min(1).max(254).default(88),
    nodes: z.array(nodeSchema).min(1).default([nodeSchema.parse({ name: 'pve' })]),
    sdnVnets: z.array(vnetSchema).default([]),
    // A host prepared for linus: `local` also holds snippets (written into storage.cfg when the
    // host is laid out; the default is a stock install without any snippets storage).
    prepared: z.boolean().default(false),
    // Bytes a storage can hold, by storage id (the config itself lives in etc/pve/storage.cfg).
    storageCapacity: z.record(z.string(), z.number().int().positive()).default({ local: 100 * GiB, 'local-lvm': 500 * GiB }),
    // How much faster than a real host's the simulated host's clock runs for linus's poll
    // intervals and graces (LINUS_TIME_SCALE in the host's environment, shell/lib/proc.sh): the
    // delays below are set in the same faster time. 1 on a sandbox an operator tries; tests use less.
    clockScale: z.number().min(0.001).max(1).default(1),
    // Time from `qm start` until the guest agent answers and the guest's sshd listens.
    bootDelayMs: z.number().int().nonnegative().default(1500),
    // qga_check_running waits this long for guest-ping before "QEMU guest agent is not running".
    agentPingTimeoutMs: z.number().int().nonnegative().default(3000),
    // lock_config waits 10 s for the flock on lock-<vmid>.conf before "got timeout".
    lockTimeoutMs: z.number().int().nonnegative().default(10000),
    // /cluster/resources takes a VM's name, status, template and stats from the RRD data pvestatd
    // broadcasts every 10 s (pve-manager PVE/Service/pvestatd.pm l.884-885): a VM younger than
    // this shows only id, vmid, node, type, status "unknown" (+lock, tags).
    resourcesLagMs: z.number().int().nonnegative().default(10000),
    // Commands the host lacks: its shell's PATH is then root's PATH on Debian without them (wget
    // is a pve-manager dependency, debian/control l.103; curl is not: a Debian-first install may
    // have no curl).
    missingTools: z.array(z.string().regex(/^[\w.+-]+$/)).default([]),
    // Port the guest's simulated sshd listens on (22 like a real guest).
    guestSshPort: z.number().int().min(1).max(65535).default(22),
    // UDP port on which a simulated machine notices that the node sent to its address (the
    // discard port 9; the kernel's ARP resolution of that send is what fills the neighbour table).
    guestProbePort: z.number().int().min(1).max(65535).default(9),
    // After boot, how long cloud-init takes to install and start qemu-guest-agent from vendor-data
    // (a package download from the guest's mirror: tens of seconds on a real guest, §15.3).
    agentInstallDelayMs: z.number().int().nonnegative().default(4000),
    // How much later still when Proxmox's generated user-data runs `package_upgrade: true`
    // (`ciupgrade` unset or 1, §15.4: minutes on a real mirror).
    packageUpgradeDelayMs: z.number().int().nonnegative().default(120_000),
  })
  .strict()
  .transform((settings) => ({ ...settings, nodes: settings.nodes.map((node) => ({ ...node, bridges: node.bridges ?? [bridgeSchema.parse(defaultBridge(`127.${settings.addressBlock}`))] })) }));

export type HostSettings = z.infer<typeof hostSettingsSchema>;
export type HostSettingsInput = z.input<typeof hostSettingsSchema>;

// Settings, or a function of the host's network prefix (`127.<block>`) for settings that name
// addresses of the host's own block (createSimHost leases the block first).
export type HostSettingsSource = HostSettingsInput | ((net: string) => HostSettingsInput);

export function withSettings(source: HostSettingsSource, more: (input: HostSettingsInput) => HostSettingsInput): (net: string) => HostSettingsInput {
  return (net) => more(typeof source === 'function' ? source(net) : source);
}
