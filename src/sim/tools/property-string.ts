import { formatSize, parseSize } from './format-size.js';

// Property strings (`a=1,b=2` with an optional leading default-key value), as drives, net and
// agent options use them.
export interface PropertyString {
  head?: string;
  keys: Record<string, string>;
}

export function parsePropertyString(text: string): PropertyString {
  const result: PropertyString = { keys: {} };
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (result.head === undefined) result.head = part;
      continue;
    }
    result.keys[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return result;
}

// print_drive: the volume first, then the other keys sorted, size via format_size.
export function printDrive(volid: string, keys: Record<string, string>): string {
  const parts = [volid];
  for (const key of Object.keys(keys).sort()) {
    const value = keys[key] as string;
    if (key === 'file') continue;
    parts.push(`${key}=${key === 'size' ? formatSize(parseSize(value) ?? Number(value)) : value}`);
  }
  return parts.join(',');
}

export interface Drive {
  volid: string;
  keys: Record<string, string>;
}

export function parseDrive(value: string): Drive {
  const parsed = parsePropertyString(value);
  const volid = parsed.head ?? parsed.keys.file ?? '';
  const keys = { ...parsed.keys };
  delete keys.file;
  return { volid, keys };
}

export function driveSizeBytes(drive: Drive): number | undefined {
  return drive.keys.size === undefined ? undefined : parseSize(drive.keys.size);
}

export const NIC_MODELS = ['e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3'] as const;

export interface Nic {
  model: string;
  mac?: string;
  keys: Record<string, string>;
}

// `virtio=BC:24:11:..,bridge=vmbr0,tag=10` or `model=virtio,macaddr=..,bridge=..`.
export function parseNet(value: string): Nic | undefined {
  const nic: Nic = { model: '', keys: {} };
  for (const part of value.split(',')) {
    const [key, val] = part.includes('=') ? [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] : [part, undefined];
    if ((NIC_MODELS as readonly string[]).includes(key)) {
      nic.model = key;
      if (val !== undefined && val !== '') nic.mac = val;
    } else if (key === 'model' && val !== undefined) {
      nic.model = val;
    } else if (key === 'macaddr' && val !== undefined) {
      nic.mac = val;
    } else if (val !== undefined) {
      nic.keys[key] = val;
    } else {
      return undefined;
    }
  }
  return nic.model === '' ? undefined : nic;
}

export function printNet(nic: Nic): string {
  const parts = [nic.mac === undefined ? nic.model : `${nic.model}=${nic.mac}`];
  for (const key of Object.keys(nic.keys).sort()) parts.push(`${key}=${nic.keys[key]}`);
  return parts.join(',');
}
