import { z } from 'zod';
import { checkVmFlags } from '../config/vm-flags.js';
import { listVms } from '../ops/vm.js';
import type { OpsDeps } from '../ops/run-op.js';
import { LinusError } from '../protocol/errors.js';

// A VM named by its ID or by its name.
export const vmRef = z.union([z.number(), z.string()]).describe('VM ID or name');

// The VM ID of a reference: a name is looked up in the VM list (one exec) and must name exactly one VM.
export async function resolveVm(ops: OpsDeps, ref: number | string): Promise<number> {
  if (typeof ref === 'number' || /^[0-9]+$/.test(ref)) {
    // checkVmFlags: an integer in the VM ID range, else INVALID_SPEC.
    const id = Number(ref);
    checkVmFlags({ id });
    return id;
  }
  const list = await listVms(ops);
  if (!list.ok) throw new LinusError({ code: list.error.code, message: list.error.message, remediation: list.error.remediation });
  const named = list.data.filter((vm) => vm.name === ref);
  const [only] = named;
  if (only === undefined) throw new LinusError({ code: 'VM_NOT_FOUND', message: `no VM is named '${ref}'`, remediation: 'Call list_vms for the VMs there are.' });
  if (named.length > 1) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${named.length} VMs are named '${ref}' (IDs ${named.map((vm) => vm.id).join(', ')})`, remediation: 'Name the VM by its ID.' });
  }
  return only.id;
}
