import type { Target } from '../config/spec.js';
import { parseDoctorData, parseFixResult, type DoctorReport, type SafeFix } from '../doctor/report.js';
import { LinusError } from '../protocol/errors.js';
import type { OpOutcome } from '../protocol/transcript.js';
import { opArgs } from '../provisioners/args.js';
import { emptyOpStats, runOp, type OpStats, type OpsDeps } from './run-op.js';

export interface DoctorRequest {
  target: Pick<Target, 'node' | 'storage' | 'bridge' | 'snippetsStorage'>;
  vlan?: number;
  os?: string;
  fix: boolean;
}

export interface DoctorHooks {
  // Before the safe fixes are applied: shows them and throws (CONFIRMATION_REQUIRED) to stop.
  beforeFixes(report: DoctorReport): Promise<void>;
  onFixed(fix: SafeFix, changed: boolean): void;
}

export interface DoctorResult {
  report: DoctorReport;
  // Applied by --fix; report is then the check after the fixes.
  applied: SafeFix[];
  stats: OpStats;
}

function outcomeData(outcome: OpOutcome): unknown[] {
  if (!outcome.ok) throw new LinusError({ code: outcome.error.code, message: outcome.error.message, remediation: outcome.error.remediation, exitCode: outcome.error.exitCode });
  return outcome.data;
}

function addStats(total: OpStats, more: OpStats): void {
  total.execs += more.execs;
  total.uploads += more.uploads;
}

// `linus doctor`: what a provision will find on the host, check by check, and what fixes each;
// with fix, the safe fixes applied (after beforeFixes) and the host checked again.
export async function doctor(deps: OpsDeps, request: DoctorRequest, hooks: DoctorHooks): Promise<DoctorResult> {
  const stats = emptyOpStats();
  const check = async () => {
    const startMs = Date.now();
    const { outcome, stats: used } = await runOp(deps, opArgs.doctor(request.target, request));
    const endMs = Date.now();
    addStats(stats, used);
    return parseDoctorData(outcomeData(outcome), { startMs, endMs });
  };
  const first = await check();
  if (!request.fix || first.fixes.length === 0) return { report: first, applied: [], stats };
  await hooks.beforeFixes(first);
  const applied: SafeFix[] = [];
  for (const fix of first.fixes) {
    const { outcome, stats: used } = await runOp(deps, opArgs.doctorFix(fix.storage, fix.content));
    addStats(stats, used);
    const result = parseFixResult(outcomeData(outcome));
    applied.push(fix);
    hooks.onFixed(fix, result.changed);
  }
  return { report: await check(), applied, stats };
}
