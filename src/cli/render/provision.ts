import { cloneJson, provisionJson } from '../../jobs/json.js';
import type { JobStats } from '../../jobs/run-job.js';
import type { ProvisionResult, VmRun } from '../../jobs/provision.js';
import { errorText } from '../../protocol/errors.js';
import type { ProvisionOutcome } from '../../protocol/transcript.js';
import type { CliContext } from '../io.js';
import { printWarnings } from './progress.js';

// `vm clone` runs as a job like a provision; only its failure line names it.
function summarize(outcome: ProvisionOutcome, action: 'Provision' | 'Clone' = 'Provision', reused = false): string {
  if (outcome.kind === 'dry-run') return `Dry run: nothing was changed. These commands would run on the host:\n${outcome.plan.map((line) => `  ${line}`).join('\n')}\n`;
  if (outcome.kind === 'failure') {
    if (outcome.kept && outcome.vmId !== undefined) {
      const id = outcome.vmId;
      return `${action} failed (VM ${id} was kept for inspection: --keep-on-failure): ${errorText(outcome.error)}  Remove it with: linus vm delete ${id} --yes --stop (or 'linus gc', which removes it as a failed run's VM once it is older than --older-than)\n`;
    }
    const vm = outcome.vmId === undefined ? '' : ` (VM ${outcome.vmId} was rolled back)`;
    return `${action} failed${vm}: ${errorText(outcome.error)}`;
  }
  const { vm } = outcome;
  const lines = [
    `VM ${vm.id} '${vm.name}' ${reused ? 'exists with these settings (reused, --if-exists reuse)' : 'is ready'} on node ${vm.node}: ${vm.cores} cores, ${vm.memoryMiB} MiB, ${vm.diskGiB} GiB, ${vm.os}`,
    `  ssh ${vm.user}@${vm.ip}`,
  ];
  if (vm.password !== undefined) lines.push(`  password for ${vm.user} (shown once, not stored by linus): ${vm.password}`);
  return `${lines.join('\n')}\n`;
}

// --quiet on success: only the result, one line a script can read (ID, name, address, and a
// fourth word `reused` for a VM --if-exists reuse returned), and a generated password, which is
// shown this once or never.
function quietLine(outcome: ProvisionOutcome, reused = false): string {
  if (outcome.kind !== 'success') return '';
  const { vm } = outcome;
  const password = vm.password === undefined ? '' : `password for ${vm.user} (shown once, not stored by linus): ${vm.password}\n`;
  return `${vm.id} ${vm.name} ${vm.ip}${reused ? ' reused' : ''}\n${password}`;
}

export interface ProvisionView {
  json: boolean;
  quiet: boolean;
  // --count was given: the JSON has a `vms` list, the text a line per VM and a total.
  many: boolean;
}

// The result of `linus provision`: one JSON object, or text; the exit code of the first failure.
export function writeProvisionResult(cli: CliContext, view: ProvisionView, result: ProvisionResult): void {
  const { stdout, stderr } = cli.io;
  const { placement, runs, continuedAfter } = result;
  if (view.json) stdout.write(`${JSON.stringify(provisionJson(result, view.many))}\n`);
  if (placement?.error) {
    if (!view.json) stderr.write(`linus: ${errorText(placement.error)}Nothing was created.\n`);
    cli.exitCode = placement.error.exitCode;
    return;
  }
  const failed = runs.find((entry) => !entry.outcome.ok);
  if (!view.json) {
    printWarnings(cli, runs.flatMap((entry) => entry.outcome.warnings));
    if (continuedAfter !== undefined && !view.quiet) stderr.write(`linus: ${continuedAfter} is the highest name of the pattern taken: numbering goes on after it (${runs.map((entry) => entry.name).join(', ')})\n`);
    if (!view.many) {
      const { outcome, reused } = runs[0] as VmRun;
      if (view.quiet && outcome.ok) stdout.write(quietLine(outcome, reused));
      else (outcome.ok ? stdout : stderr).write(summarize(outcome, 'Provision', reused));
    } else {
      for (const { name, outcome, reused } of runs) {
        if (view.quiet && outcome.ok) stdout.write(quietLine(outcome, reused));
        else (outcome.ok ? stdout : stderr).write(`[${name}] ${summarize(outcome, 'Provision', reused)}`);
      }
      const ok = runs.filter((entry) => entry.outcome.ok).length;
      const reusedCount = runs.filter((entry) => entry.reused).length;
      const reusedText = reusedCount > 0 ? ` (${reusedCount} reused)` : '';
      if (!view.quiet || failed) stderr.write(`${ok} of ${runs.length} VMs ready${reusedText}${failed ? `; ${runs.length - ok} failed and were rolled back` : ''}.\n`);
    }
  }
  if (failed && !failed.outcome.ok) cli.exitCode = failed.outcome.error.exitCode;
}

// The result of `linus vm clone`, or of `linus wait` (action 'Provision').
export function writeCloneResult(cli: CliContext, view: Omit<ProvisionView, 'many'>, result: { outcome: ProvisionOutcome; stats: JobStats }, action: 'Provision' | 'Clone' = 'Clone'): void {
  const { stdout, stderr } = cli.io;
  const { outcome } = result;
  const { warnings } = outcome;
  if (view.json) stdout.write(`${JSON.stringify(cloneJson(result))}\n`);
  else {
    printWarnings(cli, warnings);
    if (view.quiet && outcome.ok) stdout.write(quietLine(outcome));
    else (outcome.ok ? stdout : stderr).write(summarize(outcome, action));
  }
  if (!outcome.ok) cli.exitCode = outcome.error.exitCode;
}
