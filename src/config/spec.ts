import { z } from 'zod';
import { DEFAULT_CPU, hasX86_64v2, isKnownCpu } from './cpu.js';
import { OS_CATALOG, OS_NAMES, resolveOs } from './os-images.js';
import { LIMITS, matches, PATTERNS, patternSchema, rangeSchema } from './rules.js';

export const vmNameSchema = patternSchema('vmName');

// 1 to 3 DNS servers, IPv4 or IPv6, separated by spaces.
const dnsServers = z.string().refine(
  (value) => {
    const servers = value.trim().split(/\s+/);
    return servers.length <= LIMITS.maxDnsServers && servers.every((server) => matches('ipv4', server) || matches('ipv6', server));
  },
  { error: `must be 1 to ${LIMITS.maxDnsServers} IP addresses separated by spaces` },
);

export const vmSpecSchema = z
  .object({
    name: vmNameSchema,
    os: z.enum(OS_NAMES).default('ubuntu'),
    cores: rangeSchema('cores').default(2),
    memory: rangeSchema('memory').default(2048),
    disk: rangeSchema('disk').default(20),
    vmUser: patternSchema('vmUser').optional(),
    sshKey: z.string().min(1).optional(),
    password: z.boolean().default(false),
    ip: z.union([z.literal('dhcp'), patternSchema('ipv4Cidr')], { error: PATTERNS.ipv4Cidr.rule }).default('dhcp'),
    gateway: patternSchema('ipv4').optional(),
    dns: dnsServers.optional(),
    searchDomain: patternSchema('domain').max(LIMITS.maxDomainLength).optional(),
    vlan: rangeSchema('vlan').optional(),
    imageUrl: patternSchema('url').max(LIMITS.maxUrlLength).optional(),
    imageSha256: patternSchema('sha256').optional(),
    timeout: rangeSchema('timeout').default(300),
    cpu: z.string().refine(isKnownCpu, { error: 'must be a CPU type Proxmox knows, such as x86-64-v2-AES, x86-64-v3 or host' }).default(DEFAULT_CPU),
    // Let Proxmox's cloud-init run a full package upgrade on first boot (ciupgrade 1): minutes.
    upgrade: z.boolean().default(false),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (OS_CATALOG[resolveOs(spec.os)].needsX86_64v2 && !hasX86_64v2(spec.cpu)) {
      ctx.addIssue({ code: 'custom', path: ['cpu'], message: `${spec.cpu} lacks x86-64-v2, which the ${resolveOs(spec.os)} kernel needs to boot: use x86-64-v2-AES, x86-64-v3 or host` });
    }
    if (spec.sshKey === undefined && !spec.password) {
      ctx.addIssue({ code: 'custom', path: ['sshKey'], message: 'is required (a public key file), unless --password asks for a generated password' });
    }
    if (spec.ip === 'dhcp' && spec.gateway !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: 'only goes with a static --ip A.B.C.D/N' });
    }
    if (spec.ip !== 'dhcp' && spec.gateway === undefined) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: 'is required with a static --ip' });
    }
    if (spec.ip !== 'dhcp' && spec.gateway === spec.ip.split('/')[0]) {
      ctx.addIssue({ code: 'custom', path: ['ip'], message: "is the gateway's own address" });
    }
    if (spec.imageSha256 !== undefined && spec.imageUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['imageSha256'], message: 'only goes with --image-url' });
    }
  });

export type VmSpec = z.infer<typeof vmSpecSchema>;

// Driver-side settings (the SSH connection) and where the VM goes on the host.
const hostName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$/, { error: 'must be a host name or IP address' });

export const targetSchema = z
  .object({
    host: hostName,
    port: z.coerce.number().int().min(1).max(65_535).default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, { error: 'must be a user name' }).default('root'),
    identity: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
    hostKey: z.array(z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: 'must be a fingerprint like SHA256:... as ssh-keygen -l prints it' })).optional(),
    acceptNewHostKey: z.boolean().default(false),
    node: patternSchema('node').default('pve'),
    storage: patternSchema('storage').default('local-lvm'),
    // Where linus puts the guest-agent vendor-data (a storage with snippets content); default:
    // one the node has, if any.
    snippetsStorage: patternSchema('storage').optional(),
    bridge: patternSchema('bridge').default('vmbr0'),
    remoteDir: patternSchema('remoteDir').default('/var/lib/linus'),
    connectTimeout: z.coerce.number().int().min(1).max(300).default(15),
    // The SSH address of other cluster nodes, each "<node>=<host>[:port]" (checked by
    // parseNodeAddresses): --node-address (repeatable), LINUS_NODE_ADDRESSES="a=h1,b=h2", or in
    // a config file a list or a map { pve2: 192.168.1.12 }.
    nodeAddresses: z
      .union([
        z.string().transform((value) => value.split(',')),
        z.array(z.string()),
        z.record(z.string(), z.union([z.string(), z.number()])).transform((map) => Object.entries(map).map(([node, address]) => `${node}=${address}`)),
      ])
      .optional(),
  })
  .strict();

export type Target = z.infer<typeof targetSchema>;
