import { capacityRowSchema, parseData, type CapacityRow } from '../protocol/data.js';
import { opArgs } from '../provisioners/args.js';
import { runOp, type OpResult, type OpsDeps } from './run-op.js';

// Past these, a new VM warns, then is refused without --force (shell/lib/capacity.sh).
export const THRESHOLDS = { warnPercent: 80, refusePercent: 90 } as const;

// CPU, memory and storage use per node (or of one node) from one /cluster/resources read.
export async function capacity(deps: OpsDeps, options: { node?: string } = {}): Promise<OpResult<CapacityRow[]>> {
  const { outcome, stats } = await runOp(deps, opArgs.capacity(options.node));
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  return { ok: true, data: outcome.data.map((row) => parseData(capacityRowSchema, row, 'capacity row')), warnings: outcome.warnings, stats };
}
