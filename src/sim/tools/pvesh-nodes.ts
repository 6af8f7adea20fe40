import crypto from 'node:crypto';
import os from 'node:os';
import { VERSION_PROFILES } from '../settings.js';
import type { ToolContext } from './context.js';
import { paramExc } from './die.js';
import type { GetHandler } from './pvesh-routes.js';
import { assertReachable, nodeOnline, resolveNode } from './pvesh-node-param.js';
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

// /etc/network/interfaces as the API reads it: one NIC plus each configured bridge.
function interfaces(ctx: ToolContext, name: string): Array<Record<string, unknown>> {
  const entry = node(ctx, name);
  const list: Array<Record<string, unknown>> = [
    { active: 1, exists: 1, families: ['inet'], iface: 'eno1', method: 'manual', method6: 'manual', priority: 3, type: 'eth' },
  ];
  entry.bridges.forEach((bridge, index) => {
    const item: Record<string, unknown> = {
      active: 1,
      address: `${bridge.dhcpPrefix}.0.1`,
      autostart: 1,
      bridge_fd: '0',
      bridge_ports: index === 0 ? 'eno1' : '',
      bridge_stp: 'off',
      cidr: `${bridge.dhcpPrefix}.0.1/16`,
      families: ['inet'],
      iface: bridge.name,
      method: 'static',
      method6: 'manual',
      netmask: '16',
      priority: 4 + index,
      type: 'bridge',
    };
    if (bridge.vlanAware) {
      item.bridge_vlan_aware = 1;
      item.bridge_vids = '2-4094';
    }
    list.push(item);
  });
  return list;
}

export const networkList: GetHandler = async (ctx, pathParams, params) => {
  const name = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, name);
  const type = params.type;
  return interfaces(ctx, name).filter((item) => {
    if (type === undefined) return true;
    if (type === 'any_bridge' || type === 'any_local_bridge') return item.type === 'bridge' || item.type === 'OVSBridge';
    return item.type === type;
  });
};

export const networkIface: GetHandler = async (ctx, pathParams) => {
  const name = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, name);
  const item = interfaces(ctx, name).find((candidate) => candidate.iface === pathParams.iface);
  if (!item) throw paramExc({ iface: 'interface does not exist' });
  const { iface: _iface, ...rest } = item;
  return { ...rest, method: item.method };
};
