// The registered formats (JSONSchema.pm `register_format`) the simulated commands validate.
// Each throws the Perl die text, newline included, because the 400 layout depends on it.
const fail = (message: string): never => {
  throw new Error(message);
};

const DNS_LABEL = '([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?)';
const DNS_NAME = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(value: string): boolean {
  return IPV4.test(value);
}

// Good enough for guest configs: hex groups with at most one `::`, or an embedded IPv4 tail.
export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(value) || !value.includes(':')) return false;
  const halves = value.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  const tail = groups.at(-1);
  const ipv4Tail = tail !== undefined && tail.includes('.');
  if (ipv4Tail && !isIPv4(tail)) return false;
  const hex = ipv4Tail ? groups.slice(0, -1) : groups;
  if (!hex.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  const count = hex.length + (ipv4Tail ? 2 : 0);
  return halves.length === 2 ? count < 8 : count === 8;
}

export function verifyVmid(value: string): void {
  if (!/^[1-9][0-9]{2,8}$/.test(value)) fail('value does not look like a valid VM ID\n');
}

export function verifyDnsName(value: string): void {
  if (!DNS_NAME.test(value)) fail('value does not look like a valid DNS name\n');
}

export function verifyUrlEncoded(value: string): void {
  if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(value)) fail(`invalid urlencoded string: ${value}\n`);
}

export function verifyConfigIdList(value: string): void {
  for (const id of value.split(/[,;\s]+/).filter(Boolean)) {
    if (!/^[a-z][a-z0-9_-]+$/i.test(id)) fail(`invalid configuration ID '${id}'\n`);
  }
}

export function verifyTagList(value: string): void {
  for (const tag of value.split(/[,; ]+/).filter(Boolean)) {
    if (!/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(tag)) fail('invalid characters in tag\n');
  }
}

export function verifyAddressList(value: string): void {
  for (const addr of value.split(/[,;\s]+/).filter(Boolean)) {
    if (!isIPv4(addr) && !isIPv6(addr) && !DNS_NAME.test(addr)) fail(`value does not look like a valid address: ${addr}\n`);
  }
}

function isCidrV4(value: string): boolean {
  const [ip, mask, extra] = value.split('/');
  return extra === undefined && ip !== undefined && isIPv4(ip) && mask !== undefined && /^\d+$/.test(mask) && Number(mask) >= 0 && Number(mask) <= 32;
}

function isCidrV6(value: string): boolean {
  const [ip, mask, extra] = value.split('/');
  return extra === undefined && ip !== undefined && isIPv6(ip) && mask !== undefined && /^\d+$/.test(mask) && Number(mask) <= 128;
}

// `pve-qm-ipconfig`: a property string whose errors nest as "format error" plus per-key lines,
// exactly as parse_property_string raises them (the blank lines come from the nested "\n"s).
export function verifyIpConfig(value: string, path: string): void {
  const errors: Record<string, string> = {};
  const seen: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) fail('value without key, but schema does not define a default key\n');
    const key = part.slice(0, eq);
    const val = part.slice(eq + 1);
    if (!['ip', 'gw', 'ip6', 'gw6'].includes(key)) fail(`invalid key in comma-separated list property: ${key}\n`);
    if (seen[key] !== undefined) fail(`duplicate key in comma-separated list property: ${key}\n`);
    seen[key] = val;
  }
  const check = (key: string, ok: (v: string) => boolean, message: string) => {
    const v = seen[key];
    if (v !== undefined && !ok(v)) errors[`${path}.${key}`] = `invalid format - ${message}\n`;
  };
  check('ip', (v) => v === 'dhcp' || v === 'manual' || isCidrV4(v), 'value does not look like a valid ipv4 network configuration');
  check('gw', isIPv4, 'value does not look like a valid IPv4 address');
  check('ip6', (v) => ['auto', 'dhcp', 'manual'].includes(v) || isCidrV6(v), 'value does not look like a valid ipv6 network configuration');
  check('gw6', isIPv6, 'value does not look like a valid IPv6 address');
  if (seen.gw !== undefined && seen.ip === undefined) errors[`${path}.ip`] = `missing property required by '${path}.gw'`;
  if (seen.gw6 !== undefined && seen.ip6 === undefined) errors[`${path}.ip6`] = `missing property required by '${path}.gw6'`;
  const keys = Object.keys(errors).sort();
  if (keys.length > 0) fail(`format error\n${keys.map((key) => `${key}: ${errors[key]}\n`).join('')}`);
}
