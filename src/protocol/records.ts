import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './codes.js';

const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

export const PROTOCOL_VERSION = 1;

const RUN_ID = /^[a-z0-9][a-z0-9-]{5,40}$/;
const NODE = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

const count = z.string().regex(/^\d{1,15}$/, { error: 'must be a whole number' }).transform(Number);
const vmId = count.pipe(z.number().min(100).max(999_999_999));
const runId = z.string().regex(RUN_ID, { error: 'must be a run id' });
const text = z.string();
const word = z.string().min(1);
// Keys printed without a colon (LINUS_END) carry no value at all.
const bare = z.undefined({ error: 'takes no value' });

const GC_CANDIDATE = new RegExp(`^(\\d{3,9}):(${RUN_ID.source.slice(1, -1)}):(failed|cancelled|job-died|running-too-long|unfinished-create)$`);
const GC_SKIP_REASON =
  /^(no-job-dir|no-run-tag|several-run-tags|running|job-still-running|tag-changed|locked-[a-z-]+|protected|template|young|on-node-[A-Za-z0-9-]+|create-in-flight|not-a-claim)$/;

function split<T>(pattern: RegExp, build: (parts: string[]) => T, what: string) {
  return z.string().transform((value, ctx) => {
    const match = pattern.exec(value);
    if (match) return build(match.slice(1));
    ctx.addIssue({ code: 'custom', message: `must be ${what}` });
    return z.NEVER;
  });
}

const json = z.string().transform((value, ctx) => {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
});

// Every record the host can print, LINUS_<KEY>:<value>, with the schema of its value: the one
// list (docs/protocol.md has the same table; tests/unit/protocol/records.test.ts keeps them equal).
// A LINUS_ line with a key not listed here is a protocol error: host script and driver come from
// one build, so an unknown key means another version or a bug, never something to skip.
export const RECORDS = {
  // Every command
  PROTOCOL: count,
  RESULT: z.enum(['SUCCESS', 'FAILURE', 'DRY_RUN']),
  ERROR_CODE: errorCodeSchema,
  // VM_ON_OTHER_NODE: the node the command has to run on.
  ERROR_NODE: z.string().regex(NODE, { error: 'must be a node name' }),
  ERROR: text,
  REMEDIATION: text,
  EXIT: count,
  WARNING: text,
  END: bare,
  // Jobs: provision, clone
  RUN_ID: runId,
  STEP: z.string().regex(/^\d+\/\d+:[a-z-]+$/, { error: 'must be <i>/<n>:<name>' }),
  PLAN: word,
  OFFSET: count,
  JOB: z.enum(['RUNNING', 'FINISHED']),
  VM_ID: vmId,
  VM_IP: z.ipv4(),
  VM_USER: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'must be a Linux user name' }),
  VM_NAME: z.string().min(1).max(63),
  VM_OS: word,
  VM_CPU: count,
  VM_RAM: count,
  VM_DISK: count,
  VM_NODE: word,
  VM_PASSWORD: word,
  // A failure block's VM kept for inspection (--keep-on-failure) instead of rolled back
  VM_KEPT: vmId,
  // runs: one job, <run-id>:<state>:<result>:<vmid>:<name>:<started>:<ip>:<user> ('-': not known)
  RUN: split(
    new RegExp(`^(${RUN_ID.source.slice(1, -1)}):(running|finished|died):(-|SUCCESS|[A-Z_]+):(-|\\d{3,9}):(-|[a-z0-9-]{1,63}):(\\d{1,12}):(-|[0-9.]{7,15}):(-|[a-z_][a-z0-9_-]{0,31})$`),
    ([run = '', state = '', result = '', vm = '', name = '', started = '', ip = '', user = '']) => ({
      runId: run,
      state: state as 'running' | 'finished' | 'died',
      result: result === '-' ? null : result,
      vmId: vm === '-' ? null : Number(vm),
      name: name === '-' ? null : name,
      startedAt: Number(started),
      ip: ip === '-' ? null : ip,
      user: user === '-' ? null : user,
    }),
    '<run-id>:<state>:<result>:<vmid>:<name>:<started>:<ip>:<user>',
  ),
  // VM operations (vm.sh): one JSON object per line, its shape in data.ts
  DATA: json.pipe(z.record(z.string(), z.unknown())),
  // cleanup and gc
  GC_CANDIDATE: split(GC_CANDIDATE, ([vm = '', run = '', reason = '']) => ({ vmId: Number(vm), runId: run, reason }), '<vmid>:<run-id>:<reason>'),
  GC_SKIP: split(/^(\d{3,9}):(.+)$/, ([vm = '', reason = '']) => ({ vmId: Number(vm), reason }), '<vmid>:<reason>').refine((skip) => GC_SKIP_REASON.test(skip.reason), {
    error: 'has an unknown reason',
  }),
  GC_REMOVED_VOLUME: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*:\S+$/, { error: 'must be a volume id' }),
  CLEANED: vmId,
  GC_STALE_JOB: runId,
  GC_REMOVED_JOB: runId,
  GC_STALE_PARTIAL: z.string().regex(/^[^/]+$/, { error: 'must be a file name' }),
  GC_REMOVED_PARTIAL: z.string().regex(/^[^/]+$/, { error: 'must be a file name' }),
  GC_CANDIDATES: count,
  CLEANED_COUNT: count,
  GC_SKIPPED: count,
  // version
  VERSION: word,
  PROVISIONER: z.string().regex(/^[a-z][a-z0-9-]*$/),
  BODY_SHA256: z.string().regex(/^[0-9a-f]{64}$/),
  // The upload around a run (provisioners/remote.ts, agents/upload-steps.ts), printed by the
  // driver's own commands on the host
  UPLOAD_NEEDED: bare,
  UPLOAD_FAILED: text.optional(),
  UPLOAD_PART: z.string().regex(/^\d+\/\d+$/),
  CACHED: bare,
  UPLOADED: bare,
} as const satisfies Record<string, z.ZodType<unknown, string | undefined>>;

export type RecordKey = keyof typeof RECORDS;
export const RECORD_KEYS = Object.keys(RECORDS) as RecordKey[];
export type HostRecord = { [K in RecordKey]: { key: K; value: z.output<(typeof RECORDS)[K]> } }[RecordKey];
export type RecordValue<K extends RecordKey> = Extract<HostRecord, { key: K }>['value'];
// One job of `runs`.
export type RunRecord = RecordValue<'RUN'>;

export type ParsedLine = { kind: 'record'; record: HostRecord } | { kind: 'log'; line: string } | { kind: 'invalid'; line: string; reason: string };

const LINE = /^LINUS_([A-Z0-9_]+)(?::(.*))?$/;

function isRecordKey(key: string): key is RecordKey {
  return Object.hasOwn(RECORDS, key);
}

// One line of host output: a record, a log line (anything not LINUS_<KEY>[:...]), or invalid (an
// unknown key, or a value its schema refuses).
export function parseLine(raw: string): ParsedLine {
  const line = raw.replace(/\r$/, '');
  const match = LINE.exec(line);
  if (!match) return { kind: 'log', line };
  const key = match[1] as string;
  if (!isRecordKey(key)) return { kind: 'invalid', line, reason: `LINUS_${key} is not a record this linus knows` };
  const parsed = RECORDS[key].safeParse(match[2]);
  if (!parsed.success) return { kind: 'invalid', line, reason: `LINUS_${key} ${parsed.error.issues.map((issue) => issue.message).join('; ')}` };
  return { kind: 'record', record: { key, value: parsed.data } as HostRecord };
}

// Splits a stream into whole lines; the tail without a newline waits for more data.
export class LineSplitter {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const parts = this.buffer.split('\n');
    this.buffer = parts.pop() ?? '';
    return parts;
  }

  flush(): string[] {
    const rest = this.buffer;
    this.buffer = '';
    return rest === '' ? [] : [rest];
  }
}

// A host log line (without its "linus: " prefix) worth showing as progress: not a protocol line,
// and not the host's echo of its own error or warnings, which the driver prints once from the records.
export function isProgressLog(text: string): boolean {
  return !/^(LINUS_|error \[|warning: )/.test(text);
}
