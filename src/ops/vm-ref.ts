import { checkVmFlags } from '../config/vm-flags.js';
import type { ListRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import type { OpsDeps } from './run-op.js';
import { listVms } from './vm.js';

// What to tell the caller when a name matches no VM or several: the CLI points at `linus vm
// list`, an agent at its list tool.
export interface VmRefHelp {
  notFound: string;
  ambiguous: string;
}

export const CLI_VM_REF_HELP: VmRefHelp = {
  notFound: "Run 'linus vm list' for the VMs there are.",
  ambiguous: 'Name the VM by its ID.',
};

const isId = (ref: number | string): boolean => typeof ref === 'number' || /^[0-9]+$/.test(ref);

// A Proxmox VM name (its `name` is a DNS name: letters, digits, dots and hyphens).
const VM_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,126}[A-Za-z0-9])?$/;

// Checks a reference before anything is sent to the host: an ID in the VM ID range, or a name.
export function checkVmRef(ref: number | string): void {
  if (isId(ref)) return checkVmFlags({ id: Number(ref) });
  if (!VM_NAME.test(String(ref))) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `the VM: must be a VM ID or a VM name (letters, digits, dots and hyphens), got ${JSON.stringify(ref)}`, remediation: 'Fix the named value and run again; nothing was sent to the host.' });
  }
}

// The VM list row of a reference: its ID or its name, which must name exactly one VM (one exec).
export async function findVm(ops: OpsDeps, ref: number | string, help: VmRefHelp = CLI_VM_REF_HELP): Promise<ListRow> {
  checkVmRef(ref);
  const id = isId(ref) ? Number(ref) : undefined;
  const list = await listVms(ops);
  if (!list.ok) throw new LinusError({ code: list.error.code, message: list.error.message, remediation: list.error.remediation });
  const matches = list.data.filter((vm) => (id === undefined ? vm.name === String(ref) : vm.id === id));
  const [only] = matches;
  if (only === undefined) {
    throw new LinusError({ code: 'VM_NOT_FOUND', message: id === undefined ? `no VM is named '${ref}'` : `VM ${id} does not exist in the cluster`, remediation: help.notFound });
  }
  if (matches.length > 1) {
    const listed = matches.map((vm) => `${vm.id} on ${vm.node}`).join(', ');
    throw new LinusError({ code: 'INVALID_SPEC', message: `${matches.length} VMs are named '${ref}': ${listed}`, remediation: help.ambiguous });
  }
  return only;
}

// The VM ID of a reference: an ID is taken as it is (the host reports a missing one), a name is
// looked up with findVm.
export async function resolveVm(ops: OpsDeps, ref: number | string, help: VmRefHelp = CLI_VM_REF_HELP): Promise<number> {
  checkVmRef(ref);
  return isId(ref) ? Number(ref) : (await findVm(ops, ref, help)).id;
}
