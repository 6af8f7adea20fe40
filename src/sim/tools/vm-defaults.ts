import { isDriveKey } from './config-format.js';
import { driveKeysInOrder } from './disk-create.js';
import { parseDrive } from './property-string.js';

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

// GuestHelpers `get_unique_tags`: split, de-duplicate, sort, join with ';'.
export function uniqueTags(tags: string): string {
  return [...new Set(tags.split(/[,; ]+/).filter(Boolean))].sort().join(';');
}
