import type { z } from 'zod';
import { adoptSchema, fleetVmSchema, parseData, type FleetVmRow } from '../protocol/data.js';
import { opArgs } from '../provisioners/args.js';
import { runOp, type OpResult, type OpsDeps } from './run-op.js';

// The host operations of a fleet (docs/fleets.md): the one read a plan makes, and adoption.

export type VmAdopt = z.infer<typeof adoptSchema>;

// The guests that carry <tag>, have one of <names> or one of <ids>, with their configs (one exec).
export async function readFleetState(deps: OpsDeps, tag: string, names: readonly string[], ids: readonly number[] = []): Promise<OpResult<FleetVmRow[]>> {
  const { outcome, stats } = await runOp(deps, opArgs.fleetState(tag, names, ids));
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  return { ok: true, data: outcome.data.map((row) => parseData(fleetVmSchema, row, 'fleet state')), warnings: outcome.warnings, stats };
}

// Tags VM <id> into fleet <fleet> (the tags linus and linus-fleet-<fleet>).
export async function adoptVm(deps: OpsDeps, id: number, fleet: string): Promise<OpResult<VmAdopt>> {
  const { outcome, stats } = await runOp(deps, opArgs.adopt(id, fleet));
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  return { ok: true, data: parseData(adoptSchema, outcome.data[0], 'result'), warnings: outcome.warnings, stats };
}
