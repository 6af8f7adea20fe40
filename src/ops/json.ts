import type { CapacityRow } from '../protocol/data.js';
import { THRESHOLDS } from './capacity.js';
import type { OpResult, OpStats } from './run-op.js';

// The JSON objects of the operations: what `--json` prints and what `linus mcp` returns as
// structured content, built in one place so the two cannot drift.

export function statsJson(stats: OpStats): Record<string, unknown> {
  return { execs: stats.execs, uploads: stats.uploads, ...(stats.via ? { via: stats.via } : {}) };
}

// One operation's result, its data under `key`.
export function opJson<T>(result: OpResult<T>, key = 'vm'): Record<string, unknown> {
  if (!result.ok) return { ok: false, error: result.error, warnings: result.warnings, stats: statsJson(result.stats) };
  return { ok: true, [key]: result.data, warnings: result.warnings, stats: statsJson(result.stats) };
}

// `linus capacity --json`: nodes and storages apart, with the thresholds new VMs meet.
export function capacityJson(rows: CapacityRow[], stats: OpStats): Record<string, unknown> {
  const nodes = rows.filter((row) => row.kind === 'node').map(({ kind: _kind, ...rest }) => rest);
  const storages = rows.filter((row) => row.kind === 'storage').map(({ kind: _kind, ...rest }) => rest);
  return { ok: true, nodes, storages, thresholds: THRESHOLDS, stats: statsJson(stats) };
}
