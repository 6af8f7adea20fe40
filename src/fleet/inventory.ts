import { stringify } from 'yaml';
import { fleetsOf, fleetTag, type Fleet } from '../config/fleet-file.js';
import { parseRecordedSpec } from '../config/recorded-spec.js';
import { matches } from '../config/rules.js';
import { sshForNode } from '../host/nodes.js';
import { defaultConnect } from '../host/run.js';
import { readRuns } from '../host/runs.js';
import { runIdOf, vmAddress } from '../host/vm-address.js';
import { statsJson } from '../ops/json.js';
import type { OpsDeps, OpStats } from '../ops/run-op.js';
import { listVms } from '../ops/vm.js';
import type { ListRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import type { RunRecord } from '../protocol/records.js';
import { loadProvisioner } from '../provisioners/bundle.js';

// `linus inventory` (docs/inventory.md): the hosts of linus' VMs, a fleet's or all of them, with
// address, user, node, VM ID and groups, for Ansible, scripts and ~/.ssh/config. One `vm list
// --configs <tag>` gives the rows, agent addresses and recorded specs; the run records are read
// (once per node) only when some VM's agent gives no address.

export type InventorySelection = { kind: 'linus' } | { kind: 'fleet'; name: string } | { kind: 'file'; fleet: Fleet };

export interface InventoryHost {
  // The inventory's name for it: the VM's name, or <name>-<vmid> when several VMs share the name.
  host: string;
  name: string;
  vmId: number;
  node: string;
  status: string;
  address: string | null;
  // agent: the guest agent's; record: linus' record of the run, or the static address it was made with.
  addressFrom: 'agent' | 'record' | null;
  user: string | null;
  // The OS of the spec linus recorded in the description; null for a VM linus did not provision.
  os: string | null;
  fleets: string[];
  groups: string[];
}

export interface Inventory {
  fleet: string | null;
  hosts: InventoryHost[];
  // With a fleet file: its VMs that do not exist (yet); a same-named VM without the fleet tag is a
  // warning instead.
  missing: string[];
  warnings: string[];
  stats: OpStats;
}

// An Ansible group name: letters, digits and underscores, not starting with a digit (ansible
// lib/ansible/constants.py INVALID_VARIABLE_NAMES); the prefix takes care of the first character.
export function groupName(prefix: 'fleet' | 'node' | 'os', value: string): string {
  return `${prefix}_${value.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

// Proxmox keeps a tag's case as given; linus compares tags lowercase, as vm.sh does.
const hasTag = (vm: ListRow, tag: string) => vm.tags.some((each) => each.toLowerCase() === tag);

function selectionTag(selection: InventorySelection): string {
  if (selection.kind === 'linus') return 'linus';
  return selection.kind === 'fleet' ? fleetTag(selection.name) : selection.fleet.tag;
}

// The VMs of the selection in the order the inventory lists them (a fleet file's order first), the
// file's VMs that are missing, and what the reader should know about the difference.
function chooseVms(rows: ListRow[], selection: InventorySelection, tag: string): { vms: ListRow[]; missing: string[]; warnings: string[] } {
  const tagged = rows.filter((vm) => hasTag(vm, tag) && !vm.template);
  if (selection.kind !== 'file') return { vms: tagged, missing: [], warnings: [] };
  const { fleet } = selection;
  const vms: ListRow[] = [];
  const missing: string[] = [];
  const warnings: string[] = [];
  for (const wanted of fleet.vms) {
    const found = tagged.filter((vm) => vm.name === wanted.name);
    if (found.length > 0) {
      vms.push(...found);
      continue;
    }
    const untagged = rows.find((vm) => vm.name === wanted.name);
    if (untagged) warnings.push(`${wanted.name} (VM ${untagged.id}) exists without the tag ${tag}: not listed ('linus import --fleet ${fleet.name} ${wanted.name}' adopts it)`);
    else missing.push(wanted.name);
  }
  const others = tagged.filter((vm) => !vms.includes(vm));
  for (const vm of others) warnings.push(`${vm.name} (VM ${vm.id}) carries the tag ${tag} but is not in ${fleet.file}`);
  return { vms: [...vms, ...others], missing, warnings };
}

// The run records of the nodes whose VMs the agents give no address for: one exec per node.
async function runsByNode(deps: OpsDeps, vms: ListRow[], stats: OpStats): Promise<Map<string, RunRecord[]>> {
  const nodes = [...new Set(vms.filter((vm) => vm.ip === null && runIdOf(vm) !== undefined).map((vm) => vm.node))];
  const byNode = new Map<string, RunRecord[]>();
  for (const node of nodes) {
    const connection = await (deps.connect ?? defaultConnect)(sshForNode(node, undefined, deps.ssh, deps.nodeAddresses));
    try {
      byNode.set(node, await readRuns(connection, loadProvisioner('proxmox'), deps.remoteDir, stats));
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
  return byNode;
}

export async function readInventory(deps: OpsDeps, selection: InventorySelection): Promise<Inventory> {
  const tag = selectionTag(selection);
  const list = await listVms(deps, { configsOf: tag });
  if (!list.ok) throw new LinusError({ code: list.error.code, message: list.error.message, remediation: list.error.remediation });
  const stats: OpStats = { ...list.stats };
  const { vms, missing, warnings } = chooseVms(list.data, selection, tag);
  warnings.unshift(...list.warnings);
  const runs = await runsByNode(deps, vms, stats);
  const named = new Map<string, number>();
  for (const vm of vms) named.set(vm.name, (named.get(vm.name) ?? 0) + 1);
  const hosts: InventoryHost[] = [];
  for (const vm of vms) {
    const found = await vmAddress(deps, vm, { runs: runs.get(vm.node) ?? [], ...(vm.config ? { config: vm.config } : {}), stats });
    const os = parseRecordedSpec(vm.config?.description)?.os ?? null;
    const fleets = fleetsOf(vm.tags);
    const shared = (named.get(vm.name) ?? 0) > 1;
    if (shared) warnings.push(`${named.get(vm.name)} VMs are named '${vm.name}': VM ${vm.id} is listed as ${vm.name}-${vm.id}`);
    hosts.push({
      host: shared ? `${vm.name}-${vm.id}` : vm.name,
      name: vm.name,
      vmId: vm.id,
      node: vm.node,
      status: vm.status,
      address: found.address ?? null,
      addressFrom: found.addressFrom ?? null,
      user: found.user ?? null,
      os,
      fleets,
      groups: [...fleets.map((fleet) => groupName('fleet', fleet)), groupName('node', vm.node), ...(os === null ? [] : [groupName('os', os)])],
    });
  }
  const fleet = selection.kind === 'linus' ? null : selection.kind === 'fleet' ? selection.name : selection.fleet.name;
  return { fleet, hosts, missing, warnings, stats };
}

// What a format leaves out: hosts it cannot reach, each with a warning naming it.
export function reachable(inventory: Inventory): { hosts: InventoryHost[]; warnings: string[] } {
  const hosts: InventoryHost[] = [];
  const warnings: string[] = [];
  for (const host of inventory.hosts) {
    const label = `${host.host} (VM ${host.vmId}, ${host.status})`;
    if (!matches('domain', host.host)) warnings.push(`${label}: left out, its name is not a host name`);
    else if (host.address === null) warnings.push(`${label}: left out, linus knows no address for it (no guest agent answer, no linus run record or static address)`);
    else if (host.user === null) warnings.push(`${label}: left out, linus has no record of its user`);
    else hosts.push(host);
  }
  return { hosts, warnings };
}

// The YAML inventory of Ansible's yaml plugin (`ansible-inventory -i FILE --list`): every host
// under all.hosts with its connection and linus variables, each group under all.children.
export function ansibleInventory(hosts: InventoryHost[]): string {
  const children: Record<string, { hosts: Record<string, Record<string, never>> }> = {};
  for (const host of hosts) {
    for (const group of host.groups) (children[group] ??= { hosts: {} }).hosts[host.host] = {};
  }
  const all = {
    hosts: Object.fromEntries(
      hosts.map((host) => [
        host.host,
        { ansible_host: host.address, ansible_user: host.user, linus_vmid: host.vmId, linus_node: host.node, ...(host.os === null ? {} : { linus_os: host.os }) },
      ]),
    ),
    children: Object.fromEntries(Object.entries(children).sort(([a], [b]) => a.localeCompare(b))),
  };
  return stringify({ all });
}

// `Host` blocks for ~/.ssh/config (Include the file from there), a comment with the VM ID above each.
export function sshConfig(hosts: InventoryHost[]): string {
  return hosts
    .map((host) => {
      const about = [`VM ${host.vmId} on node ${host.node}`, ...host.fleets.map((fleet) => `fleet ${fleet}`), ...(host.os === null ? [] : [host.os])].join(', ');
      return `# ${host.name}: ${about}\nHost ${host.host}\n  HostName ${host.address}\n  User ${host.user}\n`;
    })
    .join('\n');
}

// `--format json`: every host, those without an address too (address null).
export function inventoryJson(inventory: Inventory): Record<string, unknown> {
  const { fleet, hosts, missing, warnings, stats } = inventory;
  return { ok: true, fleet, hosts, missing, warnings, stats: statsJson(stats) };
}
