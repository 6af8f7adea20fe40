import crypto from 'node:crypto';
import type { GuestImage } from './guest-image.js';
import type { GuestRecord } from './guest-record.js';

// What qemu-guest-agent in the simulated guest answers (QEMU qga/qapi-schema.json shapes).
const stats = (bytes: number, packets: number) => ({
  'rx-bytes': bytes,
  'rx-dropped': 0,
  'rx-errs': 0,
  'rx-packets': packets,
  'tx-bytes': bytes,
  'tx-dropped': 0,
  'tx-errs': 0,
  'tx-packets': packets,
});

function linkLocal(mac: string): string {
  const bytes = mac.split(':').map((part) => Number.parseInt(part, 16));
  bytes[0] = (bytes[0] ?? 0) ^ 0x02;
  const hex = (a: number | undefined, b: number | undefined) => (((a ?? 0) << 8) | (b ?? 0)).toString(16);
  return `fe80::${hex(bytes[0], bytes[1])}:${hex(bytes[2], 0xff)}:${hex(0xfe, bytes[3])}:${hex(bytes[4], bytes[5])}`;
}

// lo, then a decoy docker0 (a real guest often has one, and it comes first), then the NIC.
export function networkInterfaces(record: GuestRecord): unknown[] {
  const decoyMac = `02:42:${crypto.createHash('sha1').update(String(record.vmid)).digest('hex').slice(0, 8).replace(/(..)(?!$)/g, '$1:')}`;
  const out: unknown[] = [
    {
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [
        { 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 },
        { 'ip-address': '::1', 'ip-address-type': 'ipv6', prefix: 128 },
      ],
      name: 'lo',
      statistics: stats(7936, 96),
    },
    {
      'hardware-address': decoyMac,
      'ip-addresses': [{ 'ip-address': '172.17.0.1', 'ip-address-type': 'ipv4', prefix: 16 }],
      name: 'docker0',
      statistics: stats(0, 0),
    },
  ];
  if (record.mac) {
    const addresses: unknown[] = [];
    if (record.ip) addresses.push({ 'ip-address': record.ip, 'ip-address-type': 'ipv4', prefix: record.prefix ?? 16 });
    addresses.push({ 'ip-address': linkLocal(record.mac), 'ip-address-type': 'ipv6', prefix: 64 });
    out.push({ 'hardware-address': record.mac, 'ip-addresses': addresses, name: 'eth0', statistics: stats(123456, 789) });
  }
  return out;
}

// guest-* commands: the result, or undefined for a command the simulated agent lacks.
export function agentAnswer(command: string, record: GuestRecord, hostname: string, image: GuestImage | undefined): unknown {
  const now = Date.now();
  switch (command) {
    case 'guest-ping':
    case 'guest-fsfreeze-thaw':
    case 'guest-fstrim':
      return {};
    case 'guest-network-get-interfaces':
      return networkInterfaces(record);
    case 'guest-get-host-name':
      return { 'host-name': hostname };
    case 'guest-get-osinfo':
      return image === undefined
        ? undefined
        : {
            id: image.id,
            'kernel-release': image.kernel,
            'kernel-version': '#1 SMP PREEMPT_DYNAMIC',
            machine: 'x86_64',
            name: image.prettyName.split(' ')[0],
            'pretty-name': image.prettyName,
            version: image.versionId,
            'version-id': image.versionId,
          };
    case 'guest-get-time':
      return now * 1_000_000;
    case 'guest-get-timezone':
      return { offset: 0, zone: 'UTC' };
    case 'guest-fsfreeze-status':
      return 'thawed';
    case 'guest-info':
      return { 'supported_commands': [], version: '8.2.2' };
    default:
      return undefined;
  }
}
