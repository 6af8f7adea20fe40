import fs from 'node:fs';
import type { SimPaths } from '../paths.js';
import { isDriveKey } from './config-format.js';
import { driveKeysInOrder } from './disk-create.js';
import { parseDrive, parsePropertyString } from './property-string.js';

// get_default_bootdevices + print_bootorder: first disk, first cdrom, first NIC.
export function defaultBootOrder(values: Record<string, string>): string {
  const drives = driveKeysInOrder(Object.keys(values)).filter((key) => key !== 'efidisk0' && key !== 'tpmstate0' && isDriveKey(key));
  const isCdrom = (key: string) => parseDrive(values[key] as string).keys.media === 'cdrom';
  const order: string[] = [];
  const disk = drives.find((key) => !isCdrom(key));
  const cdrom = drives.find(isCdrom);
  if (disk) order.push(disk);
  if (cdrom) order.push(cdrom);
  for (let i = 0; i < 32; i += 1) {
    if (values[`net${i}`] !== undefined) {
      order.push(`net${i}`);
      break;
    }
  }
  return order.length > 0 ? `order=${order.join(';')}` : '';
}

// datacenter.cfg `tag-style: case-sensitive=1,ordering=config,...`: both default off/alphabetical.
export function readTagStyle(paths: SimPaths): { caseSensitive: boolean; configOrder: boolean } {
  let line = '';
  try {
    line = /^tag-style:\s*(.*)$/m.exec(fs.readFileSync(paths.datacenterCfg, 'utf8'))?.[1] ?? '';
  } catch {
    // No datacenter.cfg: defaults.
  }
  const keys = parsePropertyString(line).keys;
  return { caseSensitive: /^(1|on|yes|true)$/i.test(keys['case-sensitive'] ?? ''), configOrder: keys.ordering === 'config' };
}

// pve-guest-common GuestHelpers.pm `get_unique_tags`: split_list, then sorted (case-insensitively
// unless case-sensitive; not at all with ordering=config), lowercased unless case-sensitive,
// de-duplicated, joined with ';'.
export function uniqueTags(tags: string, style: { caseSensitive: boolean; configOrder: boolean }): string {
  const list = tags.replace(/[,;]/g, ' ').split(/\s+/).filter(Boolean);
  const key = (tag: string) => (style.caseSensitive ? tag : tag.toLowerCase());
  if (!style.configOrder) list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return [...new Set(list.map(key))].join(';');
}
