// The VM config file format (QemuServer.pm `parse_vm_config` / `write_vm_config`): the description
// as `#` comment lines first, then `key: value` lines sorted by key, then `[PENDING]`,
// `[special:<name>]` and snapshot sections.
export interface ConfigSection {
  description?: string;
  values: Record<string, string>;
}

export interface VmConfig extends ConfigSection {
  pending: ConfigSection;
  special: Record<string, ConfigSection>;
  snapshots: Record<string, ConfigSection>;
}

export function emptyConfig(): VmConfig {
  return { values: {}, pending: { values: {} }, special: {}, snapshots: {} };
}

// ParseUtils::encode_text: control and high-bit characters, ':' and '%' become %XX.
export function encodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && byte !== 0x3a;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeText(text: string): string {
  const bytes = text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

const KEY_LINE = /^([a-z][a-z_-]*\d*):\s*(.+?)\s*$/;

export function parseVmConfig(raw: string): VmConfig {
  const config = emptyConfig();
  let section: ConfigSection = config;
  let description: string[] = [];
  const finishDescription = () => {
    if (description.length > 0) section.description = description.join('\n');
    description = [];
  };
  for (const line of raw.split('\n')) {
    if (/^\s*$/.test(line)) continue;
    let match: RegExpExecArray | null;
    if (/^\[PENDING\]\s*$/i.test(line)) {
      finishDescription();
      section = config.pending;
    } else if ((match = /^\[special:([a-z]+)\]\s*$/i.exec(line))) {
      finishDescription();
      section = config.special[(match[1] as string).toLowerCase()] ??= { values: {} };
    } else if ((match = /^\[([a-z][a-z0-9_-]+)\]\s*$/i.exec(line))) {
      finishDescription();
      section = config.snapshots[match[1] as string] ??= { values: {} };
    } else if ((match = /^#(.*)$/.exec(line))) {
      description.push(decodeText(match[1] as string));
    } else if ((match = /^description:\s*(.*\S)\s*$/.exec(line))) {
      section.description = decodeText(match[1] as string);
    } else if ((match = KEY_LINE.exec(line))) {
      section.values[match[1] as string] = match[2] as string;
    }
  }
  finishDescription();
  return config;
}

function renderSection(section: ConfigSection, pending: boolean): string {
  let raw = '';
  if (section.description !== undefined) {
    if (section.description !== '') {
      for (const line of section.description.split('\n')) raw += `#${encodeText(line)}\n`;
    } else if (pending) {
      raw += '#\n';
    }
  }
  for (const key of Object.keys(section.values).sort()) raw += `${key}: ${section.values[key]}\n`;
  return raw;
}

export function isEmpty(section: ConfigSection): boolean {
  return Object.keys(section.values).length === 0 && section.description === undefined;
}

export function serializeVmConfig(config: VmConfig): string {
  let raw = renderSection(config, false);
  if (!isEmpty(config.pending)) raw += `\n[PENDING]\n${renderSection(config.pending, true)}`;
  for (const name of Object.keys(config.special).sort()) {
    const special = config.special[name] as ConfigSection;
    if (name === 'cloudinit' && !hasCloudInit(config)) continue;
    raw += `\n[special:${name}]\n${renderSection(special, false)}`;
  }
  for (const name of Object.keys(config.snapshots).sort()) {
    raw += `\n[${name}]\n${renderSection(config.snapshots[name] as ConfigSection, false)}`;
  }
  return raw;
}

export function hasCloudInit(config: ConfigSection): boolean {
  return Object.entries(config.values).some(([key, value]) => isDriveKey(key) && /(^|[:/])vm-\d+-cloudinit/.test(value));
}

export function isDriveKey(key: string): boolean {
  return /^(ide[0-3]|sata[0-5]|scsi([12]?\d|30)|virtio(1[0-5]|\d)|efidisk0|tpmstate0)$/.test(key);
}
