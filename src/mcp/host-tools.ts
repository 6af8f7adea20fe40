import { z } from 'zod';
import { capacity } from '../ops/capacity.js';
import { gc, type GcReport } from '../ops/gc.js';
import { capacityJson, opJson } from '../ops/json.js';
import { requireConfirmation } from './confirm.js';
import { failedResult, okResult, outputSchema } from './results.js';
import { defineTool, type ToolContext, type ToolDef } from './tools.js';

// The host-wide tools: capacity (ops/capacity.ts) and the leftovers of failed runs (ops/gc.ts).

const olderThan = z.number().min(0).optional().describe('Only runs older than this (seconds) [3600]');

const gcOutput = outputSchema({ candidates: z.array(z.looseObject({ vmId: z.number() })), cleaned: z.array(z.number()) });

// The VM IDs a clean-up would remove, as its confirm field names them.
const idList = (report: GcReport) => report.candidates.map((candidate) => candidate.vmId).sort((a, b) => a - b).join(',');
const normalize = (given: string | undefined) => given?.split(',').map((part) => part.trim()).filter(Boolean).map(Number).sort((a, b) => a - b).join(',');

function gcText(report: GcReport): string {
  const lines = [
    ...report.candidates.map((candidate) => `${report.dryRun ? 'would remove' : 'leftover'}: VM ${candidate.vmId} (run ${candidate.runId}, ${candidate.reason})`),
    ...report.cleaned.map((vmId) => `removed VM ${vmId}`),
    ...report.skipped.map((skip) => `left alone: VM ${skip.vmId} (${skip.reason})`),
  ];
  const records = report.staleJobs.length + report.staleDownloads.length;
  if (records > 0) lines.push(`${report.dryRun ? 'would remove' : 'removed'} ${records} stale job record(s) or partial download(s)`);
  return lines.length > 0 ? lines.join('\n') : 'Nothing to clean up.';
}

export function hostTools(context: ToolContext): ToolDef[] {
  const { ops } = context;
  const gcDeps = { ssh: ops.ssh, ...(ops.connect ? { connect: ops.connect } : {}), remoteDir: ops.remoteDir };
  return [
    defineTool({
      name: 'get_capacity',
      description: 'CPU, memory and storage use per node.',
      input: z.object({}).strict(),
      output: outputSchema({ nodes: z.array(z.looseObject({})), storages: z.array(z.looseObject({})) }),
      run: async () => {
        const result = await capacity(ops);
        if (!result.ok) return failedResult({ ...opJson(result), error: result.error });
        const text = result.data.map((row) => (row.kind === 'node' ? `node ${row.node} ${row.status}: cpu ${row.cpuPercent} %, memory ${row.memoryPercent} %, ${row.vmsRunning}/${row.vms} VMs running` : `storage ${row.storage} on ${row.node}: ${row.usedPercent} % used`));
        return okResult(capacityJson(result.data, result.stats), text.join('\n'));
      },
    }),
    defineTool({
      name: 'find_leftovers',
      description: 'What failed runs left: linus VMs of unfinished runs, stale job records, partial downloads.',
      input: z.object({ olderThanSeconds: olderThan }).strict(),
      output: gcOutput,
      run: async ({ olderThanSeconds }) => {
        const report = await gc(gcDeps, { olderThanSeconds: olderThanSeconds ?? 3600, dryRun: true, yes: true }, { show: () => undefined, confirm: async () => false });
        return okResult({ ...report }, gcText(report));
      },
    }),
    defineTool({
      name: 'clean_leftovers',
      description: 'Remove what find_leftovers lists. Asks the user, or confirm must list the VM IDs.',
      input: z.object({ olderThanSeconds: olderThan, confirm: z.string().optional().describe("The leftover VM IDs, comma-separated, e.g. '104,107'") }).strict(),
      output: gcOutput,
      run: async ({ olderThanSeconds, confirm }, call) => {
        const review = {
          preview: undefined as GcReport | undefined,
          show: (preview: GcReport) => void (review.preview = preview),
          confirm: async () => {
            const preview = review.preview as GcReport;
            // Stale records and partial downloads alone go without asking: no VM is touched.
            if (preview.candidates.length === 0) return true;
            await requireConfirmation(call, {
              question: `Remove the VMs failed linus runs left: ${idList(preview)}?\n${gcText(preview)}`,
              unchanged: 'nothing was removed',
              expected: idList(preview),
              given: normalize(confirm),
            });
            return true;
          },
        };
        const report = await gc(gcDeps, { olderThanSeconds: olderThanSeconds ?? 3600, dryRun: false, yes: false }, review);
        return okResult({ ...report }, gcText(report));
      },
    }),
  ];
}
