import fs from 'node:fs';
import type { ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import type { GetHandler } from './pvesh-routes.js';
import { nodeOnline } from './pvesh-node-param.js';
import { nodeStorageEntries } from './pvesh-storage.js';
import { nodeSummary } from './pvesh-nodes.js';
import { vmStatus } from './vm-status.js';
import { clusterVmlist, configBornMs, nodeNames, readConfig } from './vm-store.js';

// datacenter.cfg `next-id: lower=N,upper=M` (defaults 100 and 1000000).
function nextIdRange(ctx: ToolContext): [number, number] {
  let lower = 100;
  let upper = 1_000_000;
  try {
    const line = /^next-id:\s*(.*)$/m.exec(fs.readFileSync(ctx.paths.datacenterCfg, 'utf8'))?.[1] ?? '';
    for (const part of line.split(',')) {
      const [key, value] = part.split('=');
      if (key?.trim() === 'lower') lower = Number(value);
      if (key?.trim() === 'upper') upper = Number(value);
    }
  } catch {
    // No datacenter.cfg: defaults.
  }
  return [lower, upper];
}

// API2/Cluster.pm `nextid` (§9): a read of the vmlist, not a reservation. The answer is a Perl
// string, so JSON output is "100". With the vmlistStale fault it reads a stale vmlist.
export const nextid: GetHandler = async (ctx, _path, params) => {
  const taken = new Set(ctx.faults.staleVmids ?? clusterVmlist(ctx.paths, nodeNames(ctx)).map((entry) => entry.vmid));
  if (params.vmid !== undefined) {
    const vmid = Number(params.vmid);
    if (taken.has(vmid)) throw paramExc({ vmid: `VM ${vmid} already exists` });
    return String(vmid);
  }
  const [lower, upper] = nextIdRange(ctx);
  for (let vmid = lower; vmid < upper; vmid += 1) if (!taken.has(vmid)) return String(vmid);
  throw new PveDie(`unable to get any free VMID in range [${lower}, ${upper}]`);
};

// API2/Cluster.pm `resources` (§10). A VM's stats come from pvestatd's RRD broadcast: a VM that
// appeared less than resourcesLagMs ago has no RRD entry yet, so it gets only what
// API2Tools.pm `extract_vm_stats` (pve-manager 9.x l.81-90) sets without one, plus lock and tags
// from the config (API2/Cluster.pm l.554-555, l.589-593). Older VMs show their live state (the
// lag of a status change or a rename is not modelled). The VMs are the vmlist's, as nextid's are:
// with the vmlistStale fault, only those of the stale list that still exist.
export const resources: GetHandler = async (ctx, _path, params) => {
  const type = params.type;
  const out: Array<Record<string, unknown>> = [];
  if (type === undefined || type === 'vm') {
    const now = Date.now();
    const stale = ctx.faults.staleVmids === undefined ? undefined : new Set(ctx.faults.staleVmids);
    for (const { vmid, node } of clusterVmlist(ctx.paths, nodeNames(ctx))) {
      if (stale !== undefined && !stale.has(vmid)) continue;
      const config = readConfig(ctx.paths, node, vmid);
      if (!config) continue;
      const status = vmStatus(ctx, vmid, config);
      if (now - configBornMs(ctx.paths, node, vmid, config) < ctx.settings.resourcesLagMs) {
        const bare: Record<string, unknown> = { id: `qemu/${vmid}`, node, status: 'unknown', type: 'qemu', vmid };
        if (status.lock !== undefined) bare.lock = status.lock;
        if (status.tags !== undefined) bare.tags = status.tags;
        out.push(bare);
        continue;
      }
      const online = nodeOnline(ctx, node);
      const entry: Record<string, unknown> = {
        cpu: 0,
        disk: 0,
        diskread: 0,
        diskwrite: 0,
        id: `qemu/${vmid}`,
        maxcpu: status.cpus,
        maxdisk: status.maxdisk,
        maxmem: status.maxmem,
        mem: status.mem,
        name: status.name,
        netin: 0,
        netout: 0,
        node,
        status: online ? status.status : 'unknown',
        template: status.template ?? 0,
        type: 'qemu',
        uptime: status.uptime,
        vmid,
      };
      if (status.memhost !== undefined) entry.memhost = status.memhost;
      if (status.lock !== undefined) entry.lock = status.lock;
      if (status.tags !== undefined) entry.tags = status.tags;
      out.push(entry);
    }
  }
  if (type === undefined || type === 'node') {
    for (const node of ctx.settings.nodes) {
      const { ssl_fingerprint: _fingerprint, ...summary } = nodeSummary(ctx, node.name);
      out.push({ ...summary, 'cgroup-mode': 2 });
    }
  }
  // Only storages enabled on the node: API2/Cluster.pm (pve-manager 9.x l.652) skips the rest with
  // storage_check_enabled (pve-storage Storage.pm l.280-291: `disable`, then the `nodes` list).
  if (type === undefined || type === 'storage') {
    for (const node of ctx.settings.nodes) {
      for (const entry of nodeStorageEntries(ctx, node.name)) {
        if (entry.enabled === 0) continue;
        out.push({
          content: entry.content,
          disk: entry.used,
          id: `storage/${node.name}/${String(entry.storage)}`,
          maxdisk: entry.total,
          node: node.name,
          plugintype: entry.type,
          shared: entry.shared,
          status: nodeOnline(ctx, node.name) && entry.active ? 'available' : 'unknown',
          storage: entry.storage,
          type: 'storage',
        });
      }
    }
  }
  return out;
};
