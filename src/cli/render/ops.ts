import type { VmConfig, VmDelete, VmPower, VmResize, VmSet, VmStatus } from '../../ops/vm.js';
import type { GcReport } from '../../ops/gc.js';
import { opJson } from '../../ops/json.js';
import type { OpResult } from '../../ops/run-op.js';
import type { CapacityRow, ListRow } from '../../protocol/data.js';
import { errorText } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { listingFormat, writeListing } from '../listing.js';
import { printWarnings } from './progress.js';

const GiB = 1024 ** 3;

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

function listText(vms: ListRow[]): string {
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

const vmLabel = (data: { id: number; name: string }) => `VM ${data.id} '${data.name}'`;

function configText({ view }: VmConfig): string {
  const lines = Object.keys(view.config).sort().map((key) => `${key}: ${view.config[key]}`);
  const pending = Object.keys(view.pending).sort();
  if (pending.length > 0) lines.push('', '[PENDING] (applied at the next reboot)', ...pending.map((key) => `${key}: ${view.pending[key] ?? '(deleted)'}`));
  return `${lines.join('\n')}\n`;
}

// An operation's result as text, and as -q prints it: only what a script reads (an ID, a state).
export interface OpText<T> {
  text: (data: T) => string;
  quiet: (data: T) => string;
}

const vmId = (data: { id: number }) => `${data.id}\n`;

export const opText = {
  status: {
    text: (data: VmStatus) =>
      `${vmLabel(data)} on node ${data.node}: ${data.state}${data.lock ? `, locked (${data.lock})` : ''}${data.template ? ', template' : ''}, ${data.linus ? 'created by linus' : 'not created by linus'}\n`,
    quiet: (data: VmStatus) => `${data.state}\n`,
  },
  power: {
    text: (data: VmPower) =>
      data.changed
        ? `${vmLabel(data)} is ${data.state} (node ${data.node})${data.forced ? `: it did not shut down in time and was stopped${data.op === 'reboot' ? ' and started again' : ''}` : ''}.\n`
        : `${vmLabel(data)} was already ${data.state}: nothing to do.\n`,
    quiet: (data: VmPower) => `${data.state}\n`,
  },
  config: { text: configText, quiet: configText },
  set: {
    text: (data: VmSet) => {
      if (!data.changed && data.pending.length === 0) return `${vmLabel(data)} already has these settings: nothing to do.\n`;
      const applied = data.applied.length > 0 ? `applied: ${data.applied.join(', ')}` : '';
      const pending = data.pending.length > 0 ? `pending until the next reboot: ${data.pending.join(', ')}` : '';
      return `${vmLabel(data)}: ${[applied, pending].filter(Boolean).join('; ')}\n`;
    },
    quiet: vmId,
  },
  resize: {
    text: (data: VmResize) =>
      data.changed ? `${vmLabel(data)} ${data.disk}: ${gib(data.beforeBytes)} -> ${gib(data.sizeBytes)}\n` : `${vmLabel(data)} ${data.disk} is already ${gib(data.sizeBytes)}: nothing to do.\n`,
    quiet: vmId,
  },
  delete: { text: (data: VmDelete) => `${vmLabel(data)} deleted${data.stopped ? ' (stopped first)' : ''}; volumes removed: ${data.volumes.join(', ') || 'none'}.\n`, quiet: vmId },
  list: { text: listText, quiet: (vms: ListRow[]) => vms.map(vmId).join('') },
} satisfies Record<string, OpText<never>>;

export interface OpView {
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  // A listing (vm list): -o yaml prints the JSON object as YAML.
  output?: string | undefined;
}

// One operation's result: the JSON object (its data under `key`; a failure too), its YAML, or
// text; warnings on stderr.
export function writeOpResult<T>(cli: CliContext, view: OpView, result: OpResult<T>, text: OpText<T>, key = 'vm'): void {
  const { stdout, stderr } = cli.io;
  const format = listingFormat(view);
  if (format === 'json') stdout.write(`${JSON.stringify(opJson(result, key))}\n`);
  if (!result.ok) {
    if (format !== 'json') stderr.write(`linus: ${errorText(result.error)}`);
    cli.exitCode = result.error.exitCode;
    return;
  }
  if (format === 'yaml') writeListing(cli, format, opJson(result, key), () => '');
  if (format !== 'table') return;
  printWarnings(cli, result.warnings);
  stdout.write(view.quiet ? text.quiet(result.data) : text.text(result.data));
}

export function gcText(report: GcReport): string {
  const out: string[] = [];
  for (const candidate of report.candidates) out.push(`${report.dryRun ? 'would remove' : 'leftover'}: VM ${candidate.vmId} (run ${candidate.runId}, ${candidate.reason})`);
  for (const volume of report.removedVolumes) out.push(`removed volume ${volume}`);
  for (const vmId of report.cleaned) out.push(`removed VM ${vmId}`);
  for (const skip of report.skipped) out.push(`left alone: VM ${skip.vmId} (${skip.reason})`);
  for (const job of report.staleJobs) out.push(`${report.dryRun ? 'would remove' : 'removed'} the record of finished run ${job}`);
  for (const file of report.staleDownloads) out.push(`${report.dryRun ? 'would remove' : 'removed'} partial download ${file}`);
  if (out.length === 0) out.push('nothing to clean up: no unfinished linus VMs, stale job records or partial downloads');
  return `${out.join('\n')}\n`;
}
