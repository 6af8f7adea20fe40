import type { ApplyResult } from '../../fleet/apply.js';
import type { ImportResult } from '../../fleet/import.js';
import type { FleetPlan, PlannedChange } from '../../fleet/plan.js';
import { errorText } from '../../protocol/errors.js';

// The text of `linus plan`, `apply` and `import` (docs/fleets.md).

const MARK: Record<PlannedChange['action'], string> = { create: '+', update: '~', replace: '-/+', delete: '-', unchanged: ' ', conflict: '!' };

const shown = (value: unknown): string => {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(';');
  if (value === null || value === undefined) return '(none)';
  if (value === '') return '(empty)';
  return typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value);
};

const UNIT: Record<string, string> = { memory: ' MiB', disk: ' GiB' };

function detail(change: PlannedChange): string {
  switch (change.action) {
    case 'create': {
      const spec = change.wanted?.spec;
      const what = spec ? `${spec.cores} cores, ${spec.memory} MiB, ${spec.disk} GiB, ${spec.os}` : '';
      return `on ${change.node === 'auto' ? 'the node placement picks' : `node ${change.node}`}: ${what}${change.reason ? `\n      cannot be created: ${change.reason}` : ''}`;
    }
    case 'conflict':
      return change.reason ?? '';
    case 'delete':
      return 'carries the fleet tag, not in the file';
    default: {
      const fields = Object.entries(change.fields).map(([key, [have, want]]) => `${key} ${shown(have)}${UNIT[key] ?? ''} -> ${shown(want)}${UNIT[key] ?? ''}`);
      const lines = fields.join(', ');
      const replace = change.action === 'replace' ? `\n      cannot change in place: ${(change.replaceFor ?? []).join(', ')}${change.reason ? `\n      cannot be created again: ${change.reason}` : ''}` : '';
      const pending = change.pending ? `${lines ? '; ' : ''}${change.pending.join(' and ')} waiting for a reboot` : '';
      return `${lines}${pending}${replace}`;
    }
  }
}

export function planText(plan: FleetPlan): string {
  const { summary } = plan;
  const head = `Fleet ${plan.fleet} (tag ${plan.tag}): ${summary.create} to create, ${summary.update} to update, ${summary.replace} to replace, ${summary.delete} to delete, ${summary.unchanged} unchanged${summary.conflict ? `, ${summary.conflict} in conflict` : ''}\n`;
  const width = Math.max(0, ...plan.changes.map((change) => change.name.length));
  const lines = plan.changes.map((change) => {
    const id = change.vmId === undefined ? '' : ` (VM ${change.vmId})`;
    return `${MARK[change.action].padStart(3)} ${change.name.padEnd(width)}${id.padEnd(12)} ${change.action.padEnd(9)} ${detail(change)}`.trimEnd();
  });
  const strays = plan.notInFile.length === 0 ? '' : `\n${plan.notInFile.length} VM(s) carry the tag ${plan.tag} but are not in the file: ${plan.notInFile.map((vm) => `${vm.name} (VM ${vm.vmId})`).join(', ')}; 'linus apply --prune' deletes them.\n`;
  return `${head}${lines.join('\n')}\n${strays}`;
}

export function applyText(result: ApplyResult): string {
  const lines = result.vms.map((vm) => {
    const id = vm.vmId === undefined ? '' : ` (VM ${vm.vmId})`;
    const replaced = vm.replacedVmId === undefined ? '' : ` (VM ${vm.replacedVmId} was deleted first)`;
    if (!vm.ok) return `failed    ${vm.name}${id}${replaced}: ${vm.skipped ? 'not started, the apply was interrupted' : errorText(vm.error ?? { code: 'INTERNAL', message: 'no result', remediation: '' }).split('\n')[0]}`;
    const done = vm.action === 'unchanged' ? 'unchanged' : vm.action === 'create' ? 'created' : vm.action === 'replace' ? 'replaced' : vm.action === 'delete' ? 'deleted' : 'updated';
    const where = vm.vm ? `: ${vm.vm.user}@${vm.vm.ip} on ${vm.vm.node}` : '';
    const pending = vm.pending ? ` (${vm.pending.join(' and ')} waiting for a reboot: 'linus apply --reboot' or 'linus vm reboot ${vm.vmId}')` : vm.rebooted ? ' (rebooted)' : '';
    return `${done.padEnd(9)} ${vm.name}${id}${where}${pending}`;
  });
  const failed = result.vms.filter((vm) => !vm.ok && !vm.skipped);
  const skipped = result.vms.filter((vm) => vm.skipped).length;
  const summary = [
    ...(failed.length > 0 ? [`${failed.length} VM(s) failed, each rolled back on its own`] : []),
    ...(skipped > 0 ? [`${skipped} not started`] : []),
  ];
  const tail = summary.length === 0 ? '' : `\n${summary.join('; ')}: run the apply again once the cause is fixed.\n${failed.map((vm) => `\n${vm.name}: ${errorText(vm.error ?? { code: 'INTERNAL', message: 'no result', remediation: '' })}`).join('')}`;
  return `${lines.join('\n')}\n${tail}`;
}

export function importText(result: ImportResult): string {
  return result.vms
    .map((vm) => (vm.ok ? `linus: VM ${vm.vmId} '${vm.name}' ${vm.changed ? 'tagged into' : 'was already in'} fleet ${result.fleet}${vm.droppedRuns?.length ? ` (dropped the tag of failed run(s) ${vm.droppedRuns.join(', ')})` : ''}\n` : `linus: VM ${vm.vmId} '${vm.name}': ${errorText(vm.error as { code: string; message: string; remediation: string })}\n`))
    .join('');
}
