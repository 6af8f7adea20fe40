import type { Fleet } from '../config/fleet-file.js';
import { readFleetState } from '../ops/fleet.js';
import type { OpStats, OpsDeps } from '../ops/run-op.js';
import { LinusError } from '../protocol/errors.js';
import { liveVm } from './live.js';
import { planFleet, type FleetPlan } from './plan.js';

// The plan of a fleet file: one host exec (vm.sh fleet-state) reads the fleet's VMs and the VMs
// named like the file's, then the plan is worked out here.
export async function readPlan(ops: OpsDeps, fleet: Fleet, options: { prune: boolean; node: string }): Promise<{ plan: FleetPlan; stats: OpStats; warnings: string[] }> {
  const state = await readFleetState(ops, fleet.tag, fleet.vms.map((vm) => vm.name));
  if (!state.ok) throw new LinusError({ code: state.error.code, message: state.error.message, remediation: state.error.remediation });
  return { plan: planFleet(fleet, state.data.map(liveVm), options), stats: state.stats, warnings: state.warnings };
}
