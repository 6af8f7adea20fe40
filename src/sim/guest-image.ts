import { z } from 'zod';

// What a cloud image holds, as far as the simulated guest cares: its /etc/os-release, whether
// qemu-guest-agent is installed, the CPU level its kernel needs, and its sshd's banner. The image
// server writes it into the image's first data cluster (an os-release-like text); an import reads
// it back into the volume record, so a guest behaves as the disk it boots from, whatever name
// linus gave the OS.
export const guestImageSchema = z
  .object({
    id: z.string(),
    versionId: z.string(),
    prettyName: z.string(),
    kernel: z.string(),
    // The image ships qemu-guest-agent enabled (RHEL-family GenericCloud images do; Ubuntu and
    // Debian cloud images do not: reference §15.3).
    agent: z.boolean(),
    // RHEL 9 kernels need x86-64-v2 and panic on kvm64/qemu64 (§15.1, pve-docs qm.adoc l.505).
    needsX86_64v2: z.boolean(),
    sshBanner: z.string(),
  })
  .strict();
export type GuestImage = z.infer<typeof guestImageSchema>;

const MAGIC = '#linus-sim-image';

export function encodeGuestImage(image: GuestImage): Buffer {
  const lines = [
    MAGIC,
    `ID=${image.id}`,
    `VERSION_ID="${image.versionId}"`,
    `PRETTY_NAME="${image.prettyName}"`,
    `LINUS_SIM_KERNEL=${image.kernel}`,
    `LINUS_SIM_QEMU_GUEST_AGENT=${image.agent ? 1 : 0}`,
    `LINUS_SIM_NEEDS_X86_64_V2=${image.needsX86_64v2 ? 1 : 0}`,
    `LINUS_SIM_SSH_BANNER=${image.sshBanner}`,
  ];
  return Buffer.from(`${lines.join('\n')}\n`);
}

export function decodeGuestImage(data: Buffer): GuestImage | undefined {
  const text = data.toString('latin1');
  if (!text.startsWith(`${MAGIC}\n`)) return undefined;
  const values: Record<string, string> = {};
  for (const line of text.split('\n').slice(1)) {
    const match = /^([A-Z_0-9]+)=(.*)$/.exec(line);
    if (match) values[match[1] as string] = (match[2] as string).replace(/^"(.*)"$/, '$1');
  }
  const parsed = guestImageSchema.safeParse({
    id: values.ID,
    versionId: values.VERSION_ID,
    prettyName: values.PRETTY_NAME,
    kernel: values.LINUS_SIM_KERNEL,
    agent: values.LINUS_SIM_QEMU_GUEST_AGENT === '1',
    needsX86_64v2: values.LINUS_SIM_NEEDS_X86_64_V2 === '1',
    sshBanner: values.LINUS_SIM_SSH_BANNER,
  });
  return parsed.success ? parsed.data : undefined;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

// The images the image server offers, under the distributions' own paths and checksum files.
export interface CatalogImage {
  os: string;
  // URL path of the image and of its checksum file, and the checksum file's format.
  path: string;
  sumsPath: string;
  sums: 'gnu-sha256' | 'gnu-sha512' | 'bsd-sha256';
  virtualSize: number;
  guest: GuestImage;
}

export const IMAGE_CATALOG: readonly CatalogImage[] = [
  {
    os: 'ubuntu-24.04',
    path: '/noble/current/noble-server-cloudimg-amd64.img',
    sumsPath: '/noble/current/SHA256SUMS',
    sums: 'gnu-sha256',
    virtualSize: 2252 * MiB,
    guest: { id: 'ubuntu', versionId: '24.04', prettyName: 'Ubuntu 24.04.1 LTS', kernel: '6.8.0-48-generic', agent: false, needsX86_64v2: false, sshBanner: 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5' },
  },
  {
    os: 'ubuntu-22.04',
    path: '/jammy/current/jammy-server-cloudimg-amd64.img',
    sumsPath: '/jammy/current/SHA256SUMS',
    sums: 'gnu-sha256',
    virtualSize: 2252 * MiB,
    guest: { id: 'ubuntu', versionId: '22.04', prettyName: 'Ubuntu 22.04.5 LTS', kernel: '5.15.0-124-generic', agent: false, needsX86_64v2: false, sshBanner: 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10' },
  },
  {
    os: 'debian-12',
    path: '/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
    sumsPath: '/images/cloud/bookworm/latest/SHA512SUMS',
    sums: 'gnu-sha512',
    virtualSize: 3 * GiB,
    guest: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-27-cloud-amd64', agent: false, needsX86_64v2: false, sshBanner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3' },
  },
  {
    os: 'debian-13',
    path: '/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2',
    sumsPath: '/images/cloud/trixie/latest/SHA512SUMS',
    sums: 'gnu-sha512',
    virtualSize: 3 * GiB,
    guest: { id: 'debian', versionId: '13', prettyName: 'Debian GNU/Linux 13 (trixie)', kernel: '6.12.41+deb13-cloud-amd64', agent: false, needsX86_64v2: false, sshBanner: 'SSH-2.0-OpenSSH_10.0p2 Debian-7' },
  },
  {
    os: 'almalinux-9',
    path: '/almalinux/9/cloud/x86_64/images/AlmaLinux-9-GenericCloud-latest.x86_64.qcow2',
    sumsPath: '/almalinux/9/cloud/x86_64/images/CHECKSUM',
    sums: 'bsd-sha256',
    virtualSize: 10 * GiB,
    guest: { id: 'almalinux', versionId: '9.5', prettyName: 'AlmaLinux 9.5 (Teal Serval)', kernel: '5.14.0-503.11.1.el9_5.x86_64', agent: true, needsX86_64v2: true, sshBanner: 'SSH-2.0-OpenSSH_8.7' },
  },
  {
    os: 'rocky-9',
    path: '/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2',
    sumsPath: '/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2.CHECKSUM',
    sums: 'bsd-sha256',
    virtualSize: 10 * GiB,
    guest: { id: 'rocky', versionId: '9.5', prettyName: 'Rocky Linux 9.5 (Blue Onyx)', kernel: '5.14.0-503.14.1.el9_5.x86_64', agent: true, needsX86_64v2: true, sshBanner: 'SSH-2.0-OpenSSH_8.7' },
  },
];

// CPU types that give the guest x86-64-v2 (SSE4.2, POPCNT, SSSE3, CX16): the x86-64-v2+ models,
// host and max, and the named models from Nehalem (Intel) and Opteron_G4 (AMD) on
// (qemu-server CPUConfig.pm `$builtin_models_by_arch` and the x86_64 model list).
const PRE_V2 = new Set(['486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'kvm32', 'kvm64', 'qemu32', 'qemu64', 'athlon', 'phenom', 'Conroe', 'Penryn', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3']);

export function cpuHasX86_64v2(cputype: string): boolean {
  return !PRE_V2.has(cputype);
}
