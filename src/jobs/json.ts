import type { ProvisionOutcome } from '../protocol/transcript.js';
import type { ProvisionResult, VmRun } from './provision.js';
import type { JobStats } from './run-job.js';

// The JSON objects of a provision or a clone: what `--json` prints and what `linus mcp` returns
// as structured content, built in one place so the two cannot drift.

export function outcomeJson(outcome: ProvisionOutcome, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (outcome.kind === 'failure') return { ok: false, error: outcome.error, runId: outcome.runId, vmId: outcome.vmId ?? null, ...(outcome.kept ? { kept: true } : {}), ...extra };
  if (outcome.kind === 'dry-run') return { ok: true, dryRun: true, plan: outcome.plan, runId: outcome.runId, ...extra };
  return { ok: true, vm: outcome.vm, runId: outcome.runId, ...extra };
}

// `linus provision --json`; many: --count was given (a `vms` list).
export function provisionJson(result: ProvisionResult, many: boolean): Record<string, unknown> {
  const { placement, runs, continuedAfter } = result;
  const continued = continuedAfter === undefined ? {} : { continuedAfter };
  const placeWarnings = placement?.warnings ?? [];
  const placeStat = placement ? { place: placement.stats } : {};
  if (placement?.error) return { ok: false, error: placement.error, ...(many ? { vms: [] } : {}), warnings: placeWarnings, stats: placeStat };
  const warnings = [...placeWarnings, ...runs.flatMap((entry) => entry.outcome.warnings)];
  if (!many) {
    const { outcome, stats, reused } = runs[0] as VmRun;
    return outcomeJson(outcome, { ...(reused ? { reused } : {}), ...continued, warnings, stats: { ...stats, ...placeStat } });
  }
  const vms = runs.map(({ name, node, outcome, stats, reused }) => ({ name, node, ...outcomeJson(outcome, { ...(reused ? { reused } : {}), stats }) }));
  return { ok: runs.every((entry) => entry.outcome.ok), vms, ...continued, warnings, stats: placeStat };
}

// `linus vm clone --json`.
export function cloneJson(result: { outcome: ProvisionOutcome; stats: JobStats }): Record<string, unknown> {
  return outcomeJson(result.outcome, { stats: result.stats, warnings: result.outcome.warnings });
}
