import type { HostSettings } from './settings.js';

// The network a guest NIC is on, resolved from the node's bridges, their VLANs and the SDN VNets.
export interface Lan {
  // `vmbr0`, `vmbr0.42` or a VNet name: names the network in messages and in the neighbour table.
  device: string;
  network: string;
  prefix: number;
  gateway?: string;
  hostAddress?: string;
  dhcp: boolean;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function inNetwork(ip: string, network: string): boolean {
  const [base = '', bits = '32'] = network.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipToInt(base) - (ipToInt(base) % size);
  return ipToInt(ip) >= start && ipToInt(ip) < start + size;
}

// The addresses a DHCP server may hand out: every host address but the router's and the node's.
export function poolOf(lan: Lan): string[] {
  const [base = ''] = lan.network.split('/');
  const size = 2 ** (32 - lan.prefix);
  const start = ipToInt(base) - (ipToInt(base) % size);
  const out: string[] = [];
  for (let value = start + 1; value < start + size - 1; value += 1) {
    const ip = intToIp(value);
    if (ip !== lan.gateway && ip !== lan.hostAddress) out.push(ip);
  }
  return out;
}

// A tag without its own settings: a /24 of its own in the host's block, 127.<block>.<tag>.0/24 for
// tags up to 255 (higher tags wrap round, 256 onto 1), with a router at .1 and DHCP, and no address
// of the node's (a VLAN the node itself is not on).
function derivedVlan(block: number, tag: number): { network: string; gateway: string; dhcp: boolean } {
  const prefix = `127.${block}.${1 + ((tag - 1) % 255)}`;
  return { network: `${prefix}.0/24`, gateway: `${prefix}.1`, dhcp: true };
}

function lanOf(device: string, fields: { network: string; gateway?: string | undefined; hostAddress?: string | undefined; dhcp: boolean }): Lan {
  return {
    device,
    network: fields.network,
    prefix: Number(fields.network.split('/')[1]),
    ...(fields.gateway === undefined ? {} : { gateway: fields.gateway }),
    ...(fields.hostAddress === undefined ? {} : { hostAddress: fields.hostAddress }),
    dhcp: fields.dhcp,
  };
}

export function vnetsOnNode(settings: HostSettings, node: string): HostSettings['sdnVnets'] {
  return settings.sdnVnets.filter((vnet) => vnet.nodes === undefined || vnet.nodes.includes(node));
}

// Whether <bridge> exists on <node> for `qm start`: a bridge of the node or a VNet of its zones.
export function bridgeExists(settings: HostSettings, node: string, bridge: string): boolean {
  const entry = settings.nodes.find((candidate) => candidate.name === node);
  return Boolean(entry?.bridges.some((candidate) => candidate.name === bridge)) || vnetsOnNode(settings, node).some((vnet) => vnet.name === bridge);
}

export function resolveLan(settings: HostSettings, node: string, bridge: string, tag?: number): Lan | undefined {
  const entry = settings.nodes.find((candidate) => candidate.name === node);
  const onBridge = entry?.bridges.find((candidate) => candidate.name === bridge);
  if (onBridge) {
    if (tag === undefined) return lanOf(bridge, onBridge);
    const vlan = onBridge.vlans.find((candidate) => candidate.tag === tag) ?? derivedVlan(settings.addressBlock, tag);
    return lanOf(`${bridge}.${tag}`, vlan);
  }
  const vnet = vnetsOnNode(settings, node).find((candidate) => candidate.name === bridge);
  return vnet ? lanOf(bridge, vnet) : undefined;
}
