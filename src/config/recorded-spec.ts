import { z } from 'zod';
import { resolveOs } from './os-images.js';
import type { VmSpec } from './spec.js';

// The spec a provision records as the first line of the VM's description (shell/lib/spec.sh
// spec_summary): "linus <version> run=<id> os=ubuntu cores=2 memory=2048M disk=20G user=ubuntu
// ip=dhcp [gw=A.B.C.D] [vlan=N] cpu=x86-64-v2-AES upgrade=0 keys=1 password=0 [image=sha256:<hex>]". It is what
// `--if-exists reuse` and a fleet plan compare a wanted VM with.
const recordedSpecSchema = z
  .object({
    version: z.string(),
    run: z.string(),
    os: z.string(),
    cores: z.coerce.number().int(),
    memory: z.string().regex(/^[0-9]+M$/).transform((value) => Number(value.slice(0, -1))),
    disk: z.string().regex(/^[0-9]+G$/).transform((value) => Number(value.slice(0, -1))),
    user: z.string(),
    ip: z.string(),
    gw: z.string().optional(),
    vlan: z.coerce.number().int().optional(),
    cpu: z.string(),
    upgrade: z.enum(['0', '1']).transform((value) => value === '1'),
    keys: z.coerce.number().int(),
    password: z.enum(['0', '1']).transform((value) => value === '1'),
    // The image's checksum, when the provision was given one.
    image: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  })
  .strict();

export type RecordedSpec = z.infer<typeof recordedSpecSchema>;

// undefined when the description does not start with a summary (a clone, a foreign VM, a
// description replaced by `vm set`).
export function parseRecordedSpec(description: string | undefined): RecordedSpec | undefined {
  const first = description?.split('\n', 1)[0]?.trim() ?? '';
  const words = first.split(/\s+/);
  if (words[0] !== 'linus' || words.length < 3) return undefined;
  const fields: Record<string, string> = { version: words[1] as string };
  for (const word of words.slice(2)) {
    const at = word.indexOf('=');
    if (at <= 0) return undefined;
    fields[word.slice(0, at)] = word.slice(at + 1);
  }
  const parsed = recordedSpecSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

// The settings a spec and a record both name, as the record spells them.
export type SpecField = 'os' | 'cores' | 'memory' | 'disk' | 'vmUser' | 'ip' | 'gateway' | 'vlan' | 'cpu' | 'upgrade' | 'password';
export type SpecDiff = Partial<Record<SpecField, [wanted: unknown, recorded: unknown]>>;

// Where a wanted spec differs from a recorded one; vmUser only when the spec names one (the
// host picks the OS's default user otherwise).
export function specDiff(wanted: VmSpec, recorded: RecordedSpec): SpecDiff {
  const pairs: [SpecField, unknown, unknown][] = [
    ['os', resolveOs(wanted.os), resolveOs(recorded.os)],
    ['cores', wanted.cores, recorded.cores],
    ['memory', wanted.memory, recorded.memory],
    ['disk', wanted.disk, recorded.disk],
    ['ip', wanted.ip, recorded.ip],
    ['gateway', wanted.gateway, recorded.gw],
    ['vlan', wanted.vlan, recorded.vlan],
    ['cpu', wanted.cpu, recorded.cpu],
    ['upgrade', wanted.upgrade, recorded.upgrade],
    ['password', wanted.password, recorded.password],
  ];
  if (wanted.vmUser !== undefined) pairs.push(['vmUser', wanted.vmUser, recorded.user]);
  const diff: SpecDiff = {};
  for (const [field, want, have] of pairs) if (want !== have) diff[field] = [want, have];
  return diff;
}
