import crypto from 'node:crypto';
import os from 'node:os';
import { VERSION_PROFILES } from '../settings.js';
import type { ToolContext } from './context.js';
import { paramExc } from './die.js';
import type { GetHandler } from './pvesh-routes.js';
import { assertReachable, nodeOnline, resolveNode } from './pvesh-node-param.js';
import { vnetsOnNode } from '../lan.js';
import { vmStatus } from './vm-status.js';
import { clusterVmlist, readConfig } from './vm-store.js';

const GiB = 1024 ** 3;

function node(ctx: ToolContext, name: string) {
  const entry = ctx.settings.nodes.find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`unknown node ${name}`);
  return entry;
}

// Memory the node's running VMs use (their maxmem share), on top of a 2 GiB host baseline.
function memoryUsed(ctx: ToolContext, name: string): number {
  let used = 2 * GiB;
  for (const { vmid } of clusterVmlist(ctx.paths, [name])) {
    const config = readConfig(ctx.paths, name, vmid);
    if (config) used += Number(vmStatus(ctx, vmid, config).mem);
  }
  return used;
}

function fingerprint(name: string): string {
  return (crypto.createHash('sha256').update(name).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
}

// One /nodes entry (API2/Nodes.pm index, stats as from RRD).
export function nodeSummary(ctx: ToolContext, name: string): Record<string, unknown> {
  const entry = node(ctx, name);
  const online = nodeOnline(ctx, name);
  const summary: Record<string, unknown> = { id: `node/${name}`, level: '', node: name, ssl_fingerprint: fingerprint(name), status: online ? 'online' : 'offline', type: 'node' };
  if (online) {
    Object.assign(summary, {
      cpu: 0.0123,
      disk: 5 * GiB,
      maxcpu: entry.cpus,
      maxdisk: 100 * GiB,
      maxmem: entry.memoryBytes,
      mem: memoryUsed(ctx, name),
      uptime: Math.floor(os.uptime()),
    });
  }
  return summary;
}

export const nodes: GetHandler = async (ctx) => ctx.settings.nodes.map((entry) => nodeSummary(ctx, entry.name));

// API2/Nodes.pm `status` (§10); 9.x adds memory.available.
export const nodeStatus: GetHandler = async (ctx, pathParams) => {
  const name = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, name);
  const entry = node(ctx, name);
  const profile = VERSION_PROFILES[ctx.settings.version];
  const used = memoryUsed(ctx, name);
  const memory: Record<string, number> = { free: entry.memoryBytes - used, total: entry.memoryBytes, used };
  if (ctx.settings.version.startsWith('9')) memory.available = entry.memoryBytes - used;
  const kernelVersion = `#1 SMP PREEMPT_DYNAMIC PMX ${profile.kernel.replace(/-pve$/, '')} (2025-01-01T00:00Z)`;
  return {
    'boot-info': { mode: 'efi', secureboot: 0 },
    cpu: 0.0123,
    cpuinfo: { cores: entry.cpus, cpus: entry.cpus, flags: 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc nopl pni ssse3 cx16 sse4_1 sse4_2 x2apic popcnt aes xsave avx hypervisor lahf_lm', hvm: '1', mhz: '2999.998', model: 'Simulated CPU @ 3.00GHz', sockets: 1, user_hz: 100 },
    'current-kernel': { machine: 'x86_64', release: profile.kernel, sysname: 'Linux', version: kernelVersion },
    idle: 0,
    ksm: { shared: 0 },
    kversion: `Linux ${profile.kernel} ${kernelVersion}`,
    loadavg: ['0.12', '0.10', '0.05'],
    memory,
    pveversion: `pve-manager/${profile.manager}/${profile.repoid}`,
    rootfs: { avail: 95 * GiB, free: 95 * GiB, total: 100 * GiB, used: 5 * GiB },
    swap: { free: 8 * GiB, total: 8 * GiB, used: 0 },
    uptime: Math.floor(os.uptime()),
    wait: 0,
  };
};

export const nodeVersion: GetHandler = async (ctx, pathParams) => {
  assertReachable(ctx, resolveNode(ctx, pathParams.node ?? ''));
  const profile = VERSION_PROFILES[ctx.settings.version];
  return { release: ctx.settings.version, repoid: profile.repoid, version: profile.manager };
};

// /etc/network/interfaces as the API reads it (pve-common Network/Interfaces.pm): one NIC, each
// bridge (an address and cidr only where the node has one), and a `<bridge>.<tag>` VLAN interface
// for each VLAN the node has an address on.
function interfaces(ctx: ToolContext, name: string): Array<Record<string, unknown>> {
  const entry = node(ctx, name);
  const list: Array<Record<string, unknown>> = [
    { active: 1, exists: 1, families: ['inet'], iface: 'eno1', method: 'manual', method6: 'manual', priority: 3, type: 'eth' },
  ];
  const addressed = (address: string | undefined, network: string): Record<string, unknown> => {
    if (address === undefined) return { method: 'manual' };
    const prefix = network.split('/')[1] as string;
    return { address, cidr: `${address}/${prefix}`, method: 'static', netmask: prefix };
  };
  let priority = 4;
  entry.bridges.forEach((bridge, index) => {
    const item: Record<string, unknown> = {
      active: 1,
      autostart: 1,
      bridge_fd: '0',
      bridge_ports: index === 0 ? 'eno1' : '',
      bridge_stp: 'off',
      families: ['inet'],
      iface: bridge.name,
      method6: 'manual',
      priority: (priority += 1) - 1,
      type: 'bridge',
      ...addressed(bridge.hostAddress, bridge.network),
    };
    // The node's default route goes out where it has an address and the LAN has a router.
    if (index === 0 && bridge.hostAddress !== undefined && bridge.gateway !== undefined) item.gateway = bridge.gateway;
    if (bridge.vlanAware) {
      item.bridge_vlan_aware = 1;
      item.bridge_vids = '2-4094';
    }
    list.push(item);
    for (const vlan of bridge.vlans) {
      if (vlan.hostAddress === undefined) continue;
      list.push({
        active: 1,
        autostart: 1,
        exists: 1,
        families: ['inet'],
        iface: `${bridge.name}.${vlan.tag}`,
        method6: 'manual',
        priority: (priority += 1) - 1,
        type: 'vlan',
        'vlan-id': String(vlan.tag),
        'vlan-raw-device': bridge.name,
        ...addressed(vlan.hostAddress, vlan.network),
      });
    }
  });
  return list;
}

// SDN VNets of the node's zones, as `get_local_vnets` lists them.
function vnets(ctx: ToolContext, name: string): Array<Record<string, unknown>> {
  return vnetsOnNode(ctx.settings, name).map((vnet) => ({
    active: '1',
    comments: vnet.alias ?? null,
    iface: vnet.name,
    ipam: 0,
    type: 'vnet',
    vlanaware: vnet.vlanaware ? 1 : 0,
  }));
}

export const networkList: GetHandler = async (ctx, pathParams, params) => {
  const name = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, name);
  const type = params.type;
  // Network.pm `index`: a filter drops what does not match it; any_bridge and vnet add the VNets.
  const local = interfaces(ctx, name).filter((item) => {
    if (type === undefined) return true;
    if (type === 'any_bridge' || type === 'any_local_bridge') return item.type === 'bridge' || item.type === 'OVSBridge';
    return item.type === type;
  });
  return type === 'any_bridge' || type === 'vnet' ? [...local, ...vnets(ctx, name)] : local;
};

export const networkIface: GetHandler = async (ctx, pathParams) => {
  const name = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, name);
  const item = interfaces(ctx, name).find((candidate) => candidate.iface === pathParams.iface);
  if (!item) throw paramExc({ iface: 'interface does not exist' });
  const { iface: _iface, ...rest } = item;
  return { ...rest, method: item.method };
};
