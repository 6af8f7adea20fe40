import { z } from 'zod';
import type { OpsDeps } from '../ops/run-op.js';
import { resolveVm as resolveRef, type VmRefHelp } from '../ops/vm-ref.js';

// A VM named by its ID or by its name.
export const vmRef = z.union([z.number(), z.string()]).describe('VM ID or name');

// What an agent is told when a name matches no VM or several.
const AGENT_HELP: VmRefHelp = { notFound: 'Call list_vms for the VMs there are.', ambiguous: 'Name the VM by its ID.' };

// The VM ID of a reference (ops/vm-ref.ts), with the agent's remediation.
export function resolveVm(ops: OpsDeps, ref: number | string): Promise<number> {
  return resolveRef(ops, ref, AGENT_HELP);
}
