import type { z } from 'zod';
import { configSchema, deleteSchema, listRowSchema, parseData, powerSchema, resizeSchema, setSchema, statusSchema, type ListRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import { opArgs, type PowerAction } from '../provisioners/args.js';
import { runOp, type OpResult, type OpsDeps } from './run-op.js';

// The VM lifecycle operations of `linus vm` (docs/vm.md): each one vm.sh command, its LINUS_DATA
// checked against its schema (protocol/data.ts).

export type VmStatus = z.infer<typeof statusSchema>;
export type VmPower = z.infer<typeof powerSchema>;
export type VmConfig = z.infer<typeof configSchema>;
export type VmSet = z.infer<typeof setSchema>;
export type VmResize = z.infer<typeof resizeSchema>;
export type VmDelete = z.infer<typeof deleteSchema>;

async function one<T>(deps: OpsDeps, args: string[], schema: z.ZodType<T>): Promise<OpResult<T>> {
  const { outcome, stats } = await runOp(deps, args);
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  return { ok: true, data: parseData(schema, outcome.data[0], 'result'), warnings: outcome.warnings, stats };
}

// Every VM of the cluster, or of <node>; with configsOf, the VMs carrying that tag with their
// config (read on the host in the same exec).
export async function listVms(deps: OpsDeps, options: { node?: string; configsOf?: string } = {}): Promise<OpResult<ListRow[]>> {
  const { outcome, stats } = await runOp(deps, opArgs.list(options));
  if (!outcome.ok) return { ok: false, error: outcome.error, warnings: outcome.warnings, stats };
  return { ok: true, data: outcome.data.map((row) => parseData(listRowSchema, row, 'result')), warnings: outcome.warnings, stats };
}

export function vmStatus(deps: OpsDeps, id: number): Promise<OpResult<VmStatus>> {
  return one(deps, opArgs.status(id), statusSchema);
}

export function vmConfig(deps: OpsDeps, id: number): Promise<OpResult<VmConfig>> {
  return one(deps, opArgs.config(id), configSchema);
}

export function powerVm(deps: OpsDeps, action: PowerAction, id: number, options: { timeout?: number; force?: boolean; foreign?: boolean }): Promise<OpResult<VmPower>> {
  return one(deps, opArgs.power(action, id, options), powerSchema);
}

// What `vm set` changes, in this order; vm.sh set takes each as --<key> <value>.
const SET_KEYS = ['cores', 'memory', 'name', 'description', 'tags'] as const;
export type VmChanges = ReadonlyArray<readonly [(typeof SET_KEYS)[number], string | number]>;

// The changes the flags ask for; none is an error found before anything is sent to the host.
export function vmChanges(flags: Partial<Record<(typeof SET_KEYS)[number], string | number | undefined>>): VmChanges {
  const changes = SET_KEYS.flatMap((key) => {
    const value = flags[key];
    return value === undefined ? [] : [[key, value] as const];
  });
  if (changes.length === 0) {
    throw new LinusError({ code: 'INVALID_SPEC', message: 'nothing to set: give --cores, --memory, --name, --description or --tags', remediation: 'Fix the named value and run again; nothing was sent to the host.' });
  }
  return changes;
}

export function setVm(deps: OpsDeps, id: number, changes: VmChanges, options: { foreign?: boolean; keepSummary?: boolean }): Promise<OpResult<VmSet>> {
  return one(deps, opArgs.set(id, changes, options), setSchema);
}

export function resizeVm(deps: OpsDeps, id: number, size: string, options: { disk?: string; foreign?: boolean }): Promise<OpResult<VmResize>> {
  return one(deps, opArgs.resize(id, size, options), resizeSchema);
}

export interface DeleteOptions {
  stop?: boolean;
  timeout?: number;
  foreign?: boolean;
  // Asked with the VM's status before anything is deleted; the host then checks that the name
  // it deletes is still the one confirmed.
  confirm?: (vm: VmStatus) => Promise<boolean>;
}

export async function deleteVm(deps: OpsDeps, id: number, options: DeleteOptions): Promise<OpResult<VmDelete>> {
  let expectName: string | undefined;
  if (options.confirm) {
    const status = await vmStatus(deps, id);
    if (!status.ok) return status;
    if (!(await options.confirm(status.data))) {
      throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `the name typed is not '${status.data.name}': VM ${status.data.id} was not deleted` });
    }
    expectName = status.data.name;
  }
  const { confirm: _confirm, ...rest } = options;
  return one(deps, opArgs.delete(id, { ...rest, ...(expectName === undefined ? {} : { expectName }) }), deleteSchema);
}
