import type { LinusError } from '../protocol/errors.js';
import type { ApplyResult } from './apply.js';
import type { ImportResult } from './import.js';
import type { FleetPlan, PlannedChange } from './plan.js';

// The JSON objects of `linus plan`, `apply` and `import` (docs/fleets.md), which `linus mcp`
// returns as structured content too: built here so the two cannot drift.

export function changeJson(change: PlannedChange): Record<string, unknown> {
  return {
    action: change.action,
    name: change.name,
    vmId: change.vmId ?? null,
    node: change.node ?? null,
    fields: change.fields,
    ...(change.replaceFor ? { replaceFor: change.replaceFor } : {}),
    ...(change.pending ? { pending: change.pending } : {}),
    ...(change.reason === undefined ? {} : { reason: change.reason }),
  };
}

// ok: false when apply would refuse the plan as it stands (refusal says why).
export function planJson(plan: FleetPlan, refusal: LinusError | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ok: refusal === undefined,
    ...(refusal ? { error: refusal.toJSON() } : {}),
    fleet: plan.fleet,
    changes: plan.changes.map(changeJson),
    notInFile: plan.notInFile,
    summary: plan.summary,
    ...extra,
  };
}

export function applyJson(plan: FleetPlan, result: ApplyResult): Record<string, unknown> {
  const failed = result.vms.find((vm) => !vm.ok);
  return {
    ok: failed === undefined,
    ...(failed?.error ? { error: failed.error } : {}),
    fleet: plan.fleet,
    summary: plan.summary,
    vms: result.vms,
    warnings: result.warnings,
    stats: result.stats,
  };
}

export function importJson(result: ImportResult, file: string | undefined): Record<string, unknown> {
  const failed = result.vms.find((vm) => !vm.ok);
  return { ok: failed === undefined, ...(failed?.error ? { error: failed.error } : {}), fleet: result.fleet, ...(file === undefined ? {} : { file }), yaml: result.yaml, vms: result.vms, stats: result.stats };
}
