import type { OpStats } from './run-op.js';
import type { CapacityRow, ListRow } from '../protocol/data.js';

const GiB = 1024 ** 3;

export const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

export function listText(vms: ListRow[]): string {
  if (vms.length === 0) return 'No VMs in the cluster.\n';
  const rows = [['VMID', 'NAME', 'NODE', 'STATUS', 'CORES', 'MEM(MiB)', 'DISK(GiB)', 'IP', 'LINUS']];
  for (const vm of vms) {
    const status = vm.template ? 'template' : vm.lock ? `${vm.status} (lock: ${vm.lock})` : vm.status;
    rows.push([String(vm.id), vm.name, vm.node, status, String(vm.cores), String(vm.memoryMiB), String(vm.diskGiB), vm.ip ?? '-', vm.linus ? 'yes' : 'no']);
  }
  return table(rows);
}

export function capacityText(rows: CapacityRow[]): string {
  const nodes = [['NODE', 'STATUS', 'CPUS', 'CPU%', 'MEMORY', 'MEM%', 'VMS']];
  const storages = [['NODE', 'STORAGE', 'TYPE', 'STATUS', 'USED', 'TOTAL', 'USED%']];
  for (const row of rows) {
    if (row.kind === 'node') {
      nodes.push([row.node, row.status, String(row.cpus), String(row.cpuPercent), `${(row.memoryUsedBytes / GiB).toFixed(1)}/${(row.memoryBytes / GiB).toFixed(1)} GiB`, String(row.memoryPercent), `${row.vmsRunning}/${row.vms}`]);
    } else {
      storages.push([row.node, row.storage, row.type, row.status, gib(row.usedBytes), gib(row.totalBytes), String(row.usedPercent)]);
    }
  }
  return `${table(nodes)}\n${table(storages)}`;
}

export function statsJson(stats: OpStats): Record<string, unknown> {
  return { execs: stats.execs, uploads: stats.uploads, ...(stats.via ? { via: stats.via } : {}) };
}
