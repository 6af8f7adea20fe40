// Operating systems linus knows: the default login user (the image's cloud-init default), whether
// the cloud image ships qemu-guest-agent (reference §15.3), whether its kernel needs an x86-64-v2
// CPU (RHEL 9 family, §15.1), and the official image with its checksum file (which the host
// downloads when no --image-url is given). The host's `_os_row` (shell/lib/rules.sh) is generated
// from this table.
export const OS_CATALOG = {
  'ubuntu-24.04': {
    user: 'ubuntu',
    agent: false,
    needsX86_64v2: false,
    image: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img',
    sums: 'https://cloud-images.ubuntu.com/noble/current/SHA256SUMS',
  },
  'ubuntu-22.04': {
    user: 'ubuntu',
    agent: false,
    needsX86_64v2: false,
    image: 'https://cloud-images.ubuntu.com/jammy/current/jammy-server-cloudimg-amd64.img',
    sums: 'https://cloud-images.ubuntu.com/jammy/current/SHA256SUMS',
  },
  'debian-12': {
    user: 'debian',
    agent: false,
    needsX86_64v2: false,
    image: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
    sums: 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS',
  },
  'debian-13': {
    user: 'debian',
    agent: false,
    needsX86_64v2: false,
    image: 'https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2',
    sums: 'https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS',
  },
  'almalinux-9': {
    user: 'almalinux',
    agent: true,
    needsX86_64v2: true,
    image: 'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/AlmaLinux-9-GenericCloud-latest.x86_64.qcow2',
    sums: 'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/CHECKSUM',
  },
  'rocky-9': {
    user: 'rocky',
    agent: true,
    needsX86_64v2: true,
    image: 'https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2',
    sums: 'https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2.CHECKSUM',
  },
} as const;

export type OsId = keyof typeof OS_CATALOG;
export const OS_ALIASES: Record<string, OsId> = { ubuntu: 'ubuntu-24.04', debian: 'debian-12', almalinux: 'almalinux-9', rocky: 'rocky-9' };
export const OS_NAMES = [...Object.keys(OS_CATALOG), ...Object.keys(OS_ALIASES)] as [string, ...string[]];

export function resolveOs(name: string): OsId {
  return OS_ALIASES[name] ?? (name as OsId);
}
