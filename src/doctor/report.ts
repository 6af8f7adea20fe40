import { z } from 'zod';
import { patternSchema } from '../config/rules.js';
import { LinusError } from '../protocol/errors.js';

// The LINUS_DATA objects of `vm.sh doctor` and `vm.sh doctor-fix` (docs/doctor.md), checked at
// the boundary: anything else from the host is a PROTOCOL_ERROR.
const checkIdSchema = z.string().regex(/^[a-z][a-z0-9-]*(\.[A-Za-z0-9_.-]+)*$/);

export const checkSchema = z
  .object({
    kind: z.literal('check'),
    id: checkIdSchema,
    // skip: not checked, because a check it depends on failed.
    status: z.enum(['ok', 'warn', 'fail', 'skip']),
    message: z.string(),
    fix: z.string().nullable(),
  })
  .strict();

// A fix `--fix` may apply: snippets added to a storage that keeps every other content type.
export const safeFixSchema = z
  .object({
    kind: z.literal('fix'),
    id: checkIdSchema,
    storage: patternSchema('storage'),
    content: z.string().regex(/^[a-z]+(,[a-z]+)*$/),
    command: z.string(),
  })
  .strict();

const hostSchema = z.object({ kind: z.literal('host'), node: z.string(), time: z.number().int() }).strict();

const recordSchema = z.discriminatedUnion('kind', [checkSchema, safeFixSchema, hostSchema]);

export const fixResultSchema = z
  .object({ op: z.literal('doctor-fix'), storage: z.string(), content: z.string(), changed: z.boolean() })
  .strict();

export type Check = Omit<z.infer<typeof checkSchema>, 'kind'>;
export type SafeFix = Omit<z.infer<typeof safeFixSchema>, 'kind'>;

export interface DoctorReport {
  checks: Check[];
  fixes: SafeFix[];
}

// Past this many seconds between the host's clock and this machine's, `clock` warns.
export const CLOCK_WARN_SECONDS = 30;

// The host's `date +%s`, taken during the exec that started at startMs and ended at endMs here:
// within that window (give or take the second `date` truncates) the clocks agree.
export function clockCheck(hostTime: number, startMs: number, endMs: number): Check {
  const earliest = Math.floor(startMs / 1000) - 1;
  const latest = Math.ceil(endMs / 1000) + 1;
  const skew = hostTime < earliest ? hostTime - earliest : hostTime > latest ? hostTime - latest : 0;
  if (Math.abs(skew) <= CLOCK_WARN_SECONDS) {
    return { id: 'clock', status: 'ok', message: `the host's clock agrees with this machine's (within ${CLOCK_WARN_SECONDS} s)`, fix: null };
  }
  return {
    id: 'clock',
    status: 'warn',
    message: `the host's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine's: TLS downloads and job ages go wrong`,
    fix: 'chronyc makestep',
  };
}

function protocolError(message: string): LinusError {
  return new LinusError({ code: 'PROTOCOL_ERROR', message: `unexpected doctor result from the host: ${message}` });
}

// The checks and safe fixes of one doctor run, with the clock check from its host record.
export function parseDoctorData(data: unknown[], window: { startMs: number; endMs: number }): DoctorReport {
  const checks: Check[] = [];
  const fixes: SafeFix[] = [];
  const hosts: number[] = [];
  for (const item of data) {
    const parsed = recordSchema.safeParse(item);
    if (!parsed.success) throw protocolError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const { kind, ...record } = parsed.data;
    if (kind === 'check') checks.push(record as Check);
    else if (kind === 'fix') fixes.push(record as SafeFix);
    else hosts.push((record as { time: number }).time);
  }
  const [hostTime] = hosts;
  if (hosts.length !== 1 || hostTime === undefined) throw protocolError(`${hosts.length} host records, expected 1`);
  if (checks.length === 0) throw protocolError('no checks');
  checks.push(clockCheck(hostTime, window.startMs, window.endMs));
  return { checks, fixes };
}

export function failedChecks(report: DoctorReport): Check[] {
  return report.checks.filter((check) => check.status === 'fail');
}

export function parseFixResult(data: unknown[]): z.infer<typeof fixResultSchema> {
  const parsed = fixResultSchema.safeParse(data[0]);
  if (data.length !== 1 || !parsed.success) throw protocolError('doctor-fix did not return one result');
  return parsed.data;
}
