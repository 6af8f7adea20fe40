// Operating systems linus knows, with their default login user (the image's cloud-init default).
export const OS_CATALOG = {
  'ubuntu-24.04': { user: 'ubuntu' },
  'ubuntu-22.04': { user: 'ubuntu' },
  'debian-12': { user: 'debian' },
  'debian-13': { user: 'debian' },
  'almalinux-9': { user: 'almalinux' },
  'rocky-9': { user: 'rocky' },
} as const;

export type OsId = keyof typeof OS_CATALOG;
export const OS_ALIASES: Record<string, OsId> = { ubuntu: 'ubuntu-24.04', debian: 'debian-12', almalinux: 'almalinux-9', rocky: 'rocky-9' };
export const OS_NAMES = [...Object.keys(OS_CATALOG), ...Object.keys(OS_ALIASES)] as [string, ...string[]];

export function resolveOs(name: string): OsId {
  return OS_ALIASES[name] ?? (name as OsId);
}
