import { z } from 'zod';
import { DEFAULT_CPU, hasX86_64v2, isKnownCpu } from './cpu.js';
import { OS_CATALOG, OS_NAMES, resolveOs } from './os-images.js';

const ipv4 = z.ipv4({ error: 'must be an IPv4 address such as 192.168.1.10' });
const cidrV4 = z
  .string()
  .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, { error: "must be 'dhcp' or an IPv4 address with a prefix, such as 192.168.1.10/24" })
  .refine((value) => {
    const [address, prefix] = value.split('/');
    return z.ipv4().safeParse(address).success && Number(prefix) >= 1 && Number(prefix) <= 32;
  }, { error: 'must be a valid IPv4 address with a prefix length from 1 to 32' });

// A DNS label, as Proxmox's dns-name check and cloud-init hostnames both accept it.
export const vmNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, { error: 'must be a DNS label: lowercase letters, digits and inner hyphens, at most 63 characters' });

export const vmSpecSchema = z
  .object({
    name: vmNameSchema,
    os: z.enum(OS_NAMES).default('ubuntu'),
    cores: z.coerce.number().int().min(1).max(128).default(2),
    memory: z.coerce.number().int().min(512).max(4_194_304).default(2048),
    disk: z.coerce.number().int().min(1).max(65_536).default(20),
    vmUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'must be a Linux user name (lowercase, at most 32 characters)' }).optional(),
    sshKey: z.string().min(1).optional(),
    password: z.boolean().default(false),
    ip: z.union([z.literal('dhcp'), cidrV4]).default('dhcp'),
    gateway: ipv4.optional(),
    dns: z
      .string()
      .refine((value) => value.trim().split(/\s+/).every((part) => z.ipv4().safeParse(part).success), { error: 'must be IPv4 addresses separated by spaces' })
      .optional(),
    searchDomain: z.string().regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, { error: 'must be a domain name' }).optional(),
    vlan: z.coerce.number().int().min(1).max(4094).optional(),
    imageUrl: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).optional(),
    imageSha256: z.string().regex(/^[0-9a-f]{64}$/i, { error: 'must be 64 hex characters' }).optional(),
    timeout: z.coerce.number().int().min(10).max(7200).default(300),
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

const hostName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$/, { error: 'must be a host name or IP address' });
const proxmoxId = z.string().regex(/^[A-Za-z0-9][-_.A-Za-z0-9]*$/, { error: 'must be a Proxmox identifier (letters, digits, - _ .)' });

export const targetSchema = z
  .object({
    host: hostName,
    port: z.coerce.number().int().min(1).max(65_535).default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, { error: 'must be a user name' }).default('root'),
    identity: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
    hostKey: z.array(z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: 'must be a fingerprint like SHA256:... as ssh-keygen -l prints it' })).optional(),
    acceptNewHostKey: z.boolean().default(false),
    node: proxmoxId.default('pve'),
    storage: proxmoxId.default('local-lvm'),
    // Where linus puts the guest-agent vendor-data (a storage with snippets content); default:
    // one the node has, if any.
    snippetsStorage: proxmoxId.optional(),
    bridge: z.string().regex(/^[-_.A-Za-z0-9]{1,15}$/, { error: 'must be a bridge name such as vmbr0' }).default('vmbr0'),
    remoteDir: z.string().regex(/^\/[A-Za-z0-9._/-]*$/, { error: 'must be an absolute path of letters, digits and . _ - /' }).default('/var/lib/linus'),
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
