import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { describeOf } from './index.js';
import { z } from 'zod';
import { flagName } from '../../config/load.js';
import { resolveOs } from '../../config/os-images.js';
import type { Target } from '../../config/spec.js';
import { doctorJson, fixesText, reportText, summaryText } from '../../doctor/render.js';
import { failedChecks, parseDoctorData, parseFixResult, type DoctorReport, type SafeFix } from '../../doctor/report.js';
import { ERROR_CODES } from '../../protocol/codes.js';
import { errorText, LinusError } from '../../protocol/errors.js';
import { confirmTyped } from '../../vm/confirm.js';
import { statsJson } from '../../vm/render.js';
import type { OpStats } from '../../vm/run-op.js';
import type { OpOutcome } from '../../protocol/transcript.js';
import { withJsonErrors } from '../json-errors.js';
import { targetOptions } from '../target-options.js';
import { VM_OPTIONS } from '../vm-options.js';
import { withOps, type OpsContext, type VmFlags } from './vm.js';

interface DoctorFlags extends VmFlags {
  fix?: boolean;
  vlan?: number;
  os?: string;
}

const VLAN_RULE = { error: 'must be an integer from 1 to 4094' };
const flagsSchema = z.object({ vlan: z.number(VLAN_RULE).int(VLAN_RULE).min(1, VLAN_RULE).max(4094, VLAN_RULE).optional() });

function outcomeData(outcome: OpOutcome): unknown[] {
  if (!outcome.ok) throw new LinusError({ code: outcome.error.code, message: outcome.error.message, remediation: outcome.error.remediation, exitCode: outcome.error.exitCode });
  return outcome.data;
}

// vm.sh doctor's arguments: the target's node, storage and bridge as `provision` passes them.
function doctorArgs(target: Target, argv: DoctorFlags): string[] {
  const args = ['doctor', '--node', target.node, '--storage', target.storage, '--bridge', target.bridge];
  if (target.snippetsStorage) args.push('--snippets-storage', target.snippetsStorage);
  if (argv.vlan !== undefined) args.push('--vlan', String(argv.vlan));
  if (argv.os !== undefined) args.push('--os', resolveOs(argv.os));
  return args;
}

function addStats(total: OpStats, more: OpStats): void {
  total.execs += more.execs;
  total.uploads += more.uploads;
}

async function check(ctx: OpsContext, argv: DoctorFlags, stats: OpStats): Promise<DoctorReport> {
  const startMs = Date.now();
  const { outcome, stats: used } = await ctx.run(doctorArgs(ctx.resolved.target, argv));
  const endMs = Date.now();
  addStats(stats, used);
  return parseDoctorData(outcomeData(outcome), { startMs, endMs });
}

async function confirmFixes(argv: DoctorFlags, fixes: SafeFix[]): Promise<void> {
  if (argv.yes) return;
  const interactive = !argv.json && Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const remediation = "Pass --yes, or run 'linus doctor --fix' on a terminal and type yes when asked.";
  if (!interactive) {
    throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `applying ${fixes.map((fix) => `'${fix.command}'`).join(', ')} needs --yes (or a terminal to type yes)`, remediation });
  }
  if (!(await confirmTyped('Apply these changes on the host?', 'yes'))) {
    throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: 'nothing was changed: the answer was not yes', remediation });
  }
}

// Reports the checks: text or one JSON object; a failed check makes the exit HOST_NOT_READY.
function finish(argv: DoctorFlags, report: DoctorReport, applied: SafeFix[], stats: OpStats): void {
  const failed = failedChecks(report);
  const entry = ERROR_CODES.HOST_NOT_READY;
  const error = { code: 'HOST_NOT_READY', exitCode: entry.exitCode, message: `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((item) => item.id).join(', ')}`, remediation: entry.remediation };
  if (argv.json) {
    process.stdout.write(`${JSON.stringify(doctorJson(report, applied, { ...(failed.length > 0 ? { error } : {}), stats: statsJson(stats) }))}\n`);
  } else {
    process.stdout.write(reportText(report));
    process.stdout.write(summaryText(report, Boolean(argv.fix)));
    if (failed.length > 0) process.stderr.write(`linus: ${errorText(error)}`);
  }
  if (failed.length > 0) process.exitCode = entry.exitCode;
}

async function run(argv: ArgumentsCamelCase<DoctorFlags>): Promise<void> {
  const parsed = flagsSchema.safeParse({ vlan: argv.vlan });
  if (!parsed.success) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${flagName('vlan')}: ${parsed.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(argv.vlan)}`, remediation: 'Fix the named value and run again; nothing was sent to the host.' });
  }
  // The host's own log lines are not shown: the report says what they would.
  await withOps({ ...argv, quiet: true }, async (ctx) => {
    const stats: OpStats = { execs: 0, uploads: 0, via: '' };
    const first = await check(ctx, argv, stats);
    if (!argv.fix || first.fixes.length === 0) return finish(argv, first, [], stats);
    if (!argv.json) process.stdout.write(`${reportText(first)}\n${fixesText(first.fixes)}`);
    await confirmFixes(argv, first.fixes);
    const applied: SafeFix[] = [];
    for (const fix of first.fixes) {
      const { outcome, stats: used } = await ctx.run(['doctor-fix', fix.storage, '--content', fix.content]);
      addStats(stats, used);
      const result = parseFixResult(outcomeData(outcome));
      applied.push(fix);
      if (!argv.json) process.stdout.write(`applied: ${fix.command}${result.changed ? '' : ' (it was already so)'}\n`);
    }
    if (!argv.json) process.stdout.write('\nAfter the fixes:\n');
    finish(argv, await check(ctx, argv, stats), applied, stats);
  });
}

// `linus doctor`: what a provision will find on the host, check by check, and what fixes each.
export const doctorCommand: CommandModule<object, DoctorFlags> = {
  command: 'doctor',
  describe: describeOf('doctor'),
  builder: (yargs) =>
    targetOptions(yargs).options({
      vlan: { ...VM_OPTIONS.vlan, describe: 'Check a guest network on this VLAN of --bridge' },
      os: { ...VM_OPTIONS.os, describe: 'Check for this OS image (whether it ships the guest agent) [default: ubuntu]' },
      fix: { type: 'boolean', describe: 'Apply the safe fixes (snippets on a dir storage, keeping its other content types) after showing them' },
      yes: { type: 'boolean', describe: 'With --fix: do not ask' },
      json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
    }) as never,
  handler: withJsonErrors<ArgumentsCamelCase<DoctorFlags>>(run),
};
