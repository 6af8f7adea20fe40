import { z } from 'zod';
import { vmFlagsSchema } from '../config/vm-flags.js';
import { opJson } from '../ops/json.js';
import type { OpResult } from '../ops/run-op.js';
import { deleteVm, listVms, powerVm, resizeVm, setVm, vmChanges, vmStatus, type VmStatus } from '../ops/vm.js';
import type { ListRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import type { PowerAction } from '../provisioners/args.js';
import { requireConfirmation } from './confirm.js';
import { failedResult, okResult, outputSchema } from './results.js';
import { defineTool, type ToolContext, type ToolDef } from './tools.js';
import { vmRef, resolveVm } from './vm-ref.js';

// The VM tools: `linus vm` list, status, power, set, resize and delete (ops/vm.ts).

const flags = vmFlagsSchema.shape;
const label = (vm: { id: number; name: string }) => `VM ${vm.id} '${vm.name}'`;
const vmShape = z.looseObject({ id: z.number(), name: z.string() });
const vmOutput = outputSchema({ vm: vmShape });

function answer<T>(result: OpResult<T>, text: (data: T) => string, key = 'vm') {
  return result.ok ? okResult(opJson(result, key), text(result.data)) : failedResult({ ...opJson(result, key), error: result.error });
}

function listText(vms: ListRow[]): string {
  const lines = vms.map((vm) => `${vm.id} ${vm.name} node=${vm.node} ${vm.template ? 'template' : vm.status}${vm.lock ? ` lock=${vm.lock}` : ''} ip=${vm.ip ?? '-'}${vm.linus ? ' linus' : ''}`);
  return `${vms.length} VM${vms.length === 1 ? '' : 's'}${lines.length > 0 ? `:\n${lines.join('\n')}` : ''}`;
}

const statusText = (vm: VmStatus) => `${label(vm)} on node ${vm.node}: ${vm.state}${vm.lock ? `, locked (${vm.lock})` : ''}${vm.template ? ', template' : ''}, ${vm.linus ? 'created by linus' : 'not created by linus'}`;

function powerTool(context: ToolContext, action: PowerAction, name: 'start_vm' | 'stop_vm' | 'shutdown_vm' | 'reboot_vm', description: string): ToolDef {
  return defineTool({
    name,
    description,
    input: z.object({ vm: vmRef, timeout: flags.timeout.describe('Seconds [60]') }).strict(),
    output: vmOutput,
    run: async ({ vm, timeout }) => {
      const id = await resolveVm(context.ops, vm);
      const result = await powerVm(context.ops, action, id, { ...(timeout === undefined ? {} : { timeout }), foreign: context.allowForeign });
      return answer(result, (data) => (data.changed ? `${label(data)} is ${data.state}.` : `${label(data)} was already ${data.state}: nothing to do.`));
    },
  });
}

export function vmTools(context: ToolContext): ToolDef[] {
  const { ops } = context;
  return [
    defineTool({
      name: 'list_vms',
      description: 'All VMs: node, status, size, IP, tags, whether linus made it.',
      input: z.object({}).strict(),
      output: outputSchema({ vms: z.array(vmShape) }),
      run: async () => answer(await listVms(ops), listText, 'vms'),
    }),
    defineTool({
      name: 'get_vm',
      description: 'Power state, lock, template flag and owner of one VM.',
      input: z.object({ vm: vmRef }).strict(),
      output: vmOutput,
      run: async ({ vm }) => answer(await vmStatus(ops, await resolveVm(ops, vm)), statusText),
    }),
    powerTool(context, 'start', 'start_vm', 'Start a VM and wait until it runs.'),
    powerTool(context, 'stop', 'stop_vm', 'Stop a VM at once (pulls the plug) and wait until it is stopped.'),
    powerTool(context, 'shutdown', 'shutdown_vm', 'Shut a VM down cleanly and wait; on STATE_TIMEOUT use stop_vm.'),
    powerTool(context, 'reboot', 'reboot_vm', 'Reboot a running VM and wait until it runs again.'),
    defineTool({
      name: 'update_vm',
      description: 'Change cores, memory, name, description or tags (a running VM gets cores/memory at reboot).',
      input: z
        .object({
          vm: vmRef,
          cores: flags.cores,
          memory: flags.memory.describe('MiB'),
          name: flags.name,
          description: flags.description,
          tags: z.string().optional().describe("';'-separated; linus' own tags are kept"),
        })
        .strict(),
      output: vmOutput,
      run: async ({ vm, ...changes }) => {
        const wanted = vmChanges(changes);
        const result = await setVm(ops, await resolveVm(ops, vm), wanted, { foreign: context.allowForeign });
        return answer(result, (data) =>
          !data.changed && data.pending.length === 0 ? `${label(data)} already has these settings.` : `${label(data)}: applied ${data.applied.join(', ') || 'nothing'}; pending until reboot: ${data.pending.join(', ') || 'nothing'}.`,
        );
      },
    }),
    defineTool({
      name: 'resize_vm_disk',
      description: 'Grow a disk (never shrinks) and check the new size.',
      input: z.object({ vm: vmRef, size: flags.size.unwrap().describe('GiB (40) or growth (+10)'), disk: flags.disk.describe('[scsi0]') }).strict(),
      output: vmOutput,
      run: async ({ vm, size, disk }) => {
        const result = await resizeVm(ops, await resolveVm(ops, vm), size, { ...(disk === undefined ? {} : { disk }), foreign: context.allowForeign });
        return answer(result, (data) => `${label(data)} ${data.disk}: ${data.changed ? `${data.beforeBytes} -> ${data.sizeBytes}` : `already ${data.sizeBytes}`} bytes.`);
      },
    }),
    defineTool({
      name: 'delete_vm',
      description: "Destroy a VM with its disks. Asks the user, or confirm must be the VM's name.",
      input: z.object({ vm: vmRef, confirm: z.string().optional().describe("The VM's name"), stop: z.boolean().optional().describe('Stop a running VM first') }).strict(),
      output: vmOutput,
      run: async ({ vm, confirm, stop }, call) => {
        const id = await resolveVm(ops, vm);
        const check = async (status: VmStatus) => {
          if (!status.linus && !context.allowForeign) {
            throw new LinusError({ code: 'VM_NOT_OWNED', message: `${label(status)} was not created by linus (no 'linus' tag): refusing to delete it` });
          }
          await requireConfirmation(call, {
            question: `Delete ${label(status)} on node ${status.node} with its disks?`,
            unchanged: `${label(status)} was not deleted`,
            expected: status.name,
            given: confirm,
          });
          return true;
        };
        const result = await deleteVm(ops, id, { stop: Boolean(stop), foreign: context.allowForeign, confirm: check });
        return answer(result, (data) => `${label(data)} deleted${data.stopped ? ' (stopped first)' : ''}; volumes removed: ${data.volumes.join(', ') || 'none'}.`);
      },
    }),
  ];
}
