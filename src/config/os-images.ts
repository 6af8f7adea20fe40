// Operating systems linus knows: the default login user (the image's cloud-init default), whether
// the cloud image ships qemu-guest-agent (reference §15.3), and whether its kernel needs an
// x86-64-v2 CPU (RHEL 9 family, §15.1). shell/lib/spec.sh `_os_row` is the host's copy.
export const OS_CATALOG = {
  'ubuntu-24.04': { user: 'ubuntu', agent: false, needsX86_64v2: false },
  'ubuntu-22.04': { user: 'ubuntu', agent: false, needsX86_64v2: false },
  'debian-12': { user: 'debian', agent: false, needsX86_64v2: false },
  'debian-13': { user: 'debian', agent: false, needsX86_64v2: false },
  'almalinux-9': { user: 'almalinux', agent: true, needsX86_64v2: true },
  'rocky-9': { user: 'rocky', agent: true, needsX86_64v2: true },
} as const;

export type OsId = keyof typeof OS_CATALOG;
export const OS_ALIASES: Record<string, OsId> = { ubuntu: 'ubuntu-24.04', debian: 'debian-12', almalinux: 'almalinux-9', rocky: 'rocky-9' };
export const OS_NAMES = [...Object.keys(OS_CATALOG), ...Object.keys(OS_ALIASES)] as [string, ...string[]];

export function resolveOs(name: string): OsId {
  return OS_ALIASES[name] ?? (name as OsId);
}
