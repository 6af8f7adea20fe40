import { z } from 'zod';
import type { Fleet } from '../config/fleet-file.js';
import { applyFleetPlan } from '../fleet/apply.js';
import { applyJson, planJson } from '../fleet/json.js';
import { fleetCompletion, keysOf, loadFleet } from '../fleet/load.js';
import { hasChanges, planRefusal, type FleetPlan } from '../fleet/plan.js';
import { readPlan } from '../fleet/state.js';
import { LinusError } from '../protocol/errors.js';
import { requireConfirmation } from './confirm.js';
import { failedResult, okResult, outputSchema } from './results.js';
import { defineTool, type ToolContext, type ToolDef } from './tools.js';

// plan_fleet and apply_fleet: `linus plan` and `linus apply` (fleet/) against the server's target;
// the file's target: block gives only where new VMs go (node, storage, bridge).

// One field for the file: text of more than one line is the YAML itself, else a path on the server.
const file = z.string().describe('Fleet YAML, or its path');
const prune = z.boolean().optional();

function fleetOf(context: ToolContext, file: string): Fleet {
  const source = file.includes('\n') ? { text: file, file: 'the fleet YAML given' } : { file };
  return loadFleet(source, context.sources.env, fleetCompletion(context.sources, context.resolved.specDefaults));
}

// The server's target, with the file's own placement for the VMs it creates.
function placeOf(context: ToolContext, fleet: Fleet) {
  const { node, storage, bridge } = fleet.target as { node?: string; storage?: string; bridge?: string };
  return { ...context.resolved.target, ...(node ? { node } : {}), ...(storage ? { storage } : {}), ...(bridge ? { bridge } : {}) };
}

const planLine = (plan: FleetPlan) =>
  `Fleet ${plan.fleet}: ${plan.changes.filter((change) => change.action !== 'unchanged').map((change) => `${change.action} ${change.name}${change.vmId === undefined ? '' : ` (VM ${change.vmId})`}`).join(', ') || 'no changes'}.`;

export function fleetTools(context: ToolContext): ToolDef[] {
  const { ops } = context;
  return [
    defineTool({
      name: 'plan_fleet',
      description: "apply_fleet's plan, VM by VM.",
      input: z.object({ file, prune }).strict(),
      output: outputSchema({ changes: z.array(z.unknown()) }),
      run: async (args) => {
        const fleet = fleetOf(context, args.file);
        const { plan } = await readPlan(ops, fleet, { prune: Boolean(args.prune), place: placeOf(context, fleet) });
        const refusal = planRefusal(plan, { allowReplace: true });
        const json = planJson(plan, refusal);
        return refusal ? failedResult(json as Record<string, unknown> & { error: ReturnType<LinusError['toJSON']> }, `${planLine(plan)} apply_fleet would refuse: `) : okResult(json, planLine(plan));
      },
    }),
    defineTool({
      name: 'apply_fleet',
      description: "Make the cluster match a fleet file (docs/fleets.md); deletes need the user's yes or confirm: <fleet>.",
      input: z
        .object({
          file,
          prune: prune.describe('Delete fleet VMs not in the file'),
          allowReplace: z.boolean().optional(),
          reboot: z.boolean().optional(),
          confirm: z.string().optional(),
        })
        .strict(),
      output: outputSchema({ vms: z.array(z.unknown()) }),
      run: async (args, call) => {
        const fleet = fleetOf(context, args.file);
        const place = placeOf(context, fleet);
        const { plan } = await readPlan(ops, fleet, { prune: Boolean(args.prune), place });
        const refusal = planRefusal(plan, { allowReplace: Boolean(args.allowReplace) });
        if (refusal) throw refusal;
        if (!hasChanges(plan) && !(args.reboot && plan.changes.some((change) => change.pending))) {
          return okResult(applyJson(plan, { vms: [], warnings: [], stats: { execs: 0, uploads: 0, place: { execs: 0, uploads: 0 } } }), `${planLine(plan)} Nothing to do.`);
        }
        const keys = new Map(plan.changes.filter((change) => change.wanted && (change.action === 'create' || change.action === 'replace')).map((change) => [change.wanted, keysOf(change.wanted as NonNullable<typeof change.wanted>)]));
        const removed = plan.changes.filter((change) => change.action === 'delete' || change.action === 'replace');
        if (removed.length > 0) {
          const listed = removed.map((change) => `${change.action} VM ${change.vmId} '${change.name}'`).join(', ');
          await requireConfirmation(call, { question: `Fleet ${fleet.name}: ${listed}, with their disks?`, unchanged: 'nothing was changed', expected: fleet.name, given: args.confirm });
        }
        let done = 0;
        const total = plan.changes.filter((change) => change.action !== 'unchanged').length;
        const result = await applyFleetPlan(
          {
            ops,
            create: { ssh: ops.ssh, ...(ops.connect ? { connect: ops.connect } : {}), nodeAddresses: ops.nodeAddresses, onEvent: () => undefined },
            signal: call.signal,
            onStep: (name, text) => call.progress?.((done += 1), Math.max(total, done), `${name}: ${text}`),
          },
          plan,
          { parallel: 4, reboot: Boolean(args.reboot), force: false, target: place, keysOf: (vm) => keys.get(vm) },
        );
        const json = applyJson(plan, result);
        const failed = result.vms.filter((vm) => !vm.ok);
        const text = `${planLine(plan)} ${failed.length === 0 ? 'Done.' : `${failed.length} VM(s) failed, each rolled back: ${failed.map((vm) => vm.name).join(', ')}.`}`;
        return failed.length === 0 ? okResult(json, text) : failedResult(json as Record<string, unknown> & { error: ReturnType<LinusError['toJSON']> }, `${text} `);
      },
    }),
  ];
}
