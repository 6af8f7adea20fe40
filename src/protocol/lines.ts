import { z } from 'zod';
import { errorCodeSchema } from './codes.js';

export const PROTOCOL_VERSION = 1;

const int = z.coerce.number().int();
const nonNegative = z.coerce.number().int().nonnegative();

// One record per LINUS_* line: the key decides the kind, the value is validated by its schema.
const recordSchemas = {
  LINUS_PROTOCOL: z.object({ kind: z.literal('protocol'), value: int }),
  LINUS_RUN_ID: z.object({ kind: z.literal('runId'), value: z.string().regex(/^[a-z0-9][a-z0-9-]{5,40}$/) }),
  LINUS_STEP: z.object({ kind: z.literal('step'), value: z.string().regex(/^\d+\/\d+:[a-z-]+$/) }),
  LINUS_PLAN: z.object({ kind: z.literal('plan'), value: z.string().min(1) }),
  LINUS_RESULT: z.object({ kind: z.literal('result'), value: z.enum(['SUCCESS', 'FAILURE', 'DRY_RUN']) }),
  LINUS_VM_ID: z.object({ kind: z.literal('vmId'), value: z.coerce.number().int().min(100).max(999999999) }),
  LINUS_VM_IP: z.object({ kind: z.literal('vmIp'), value: z.ipv4() }),
  LINUS_VM_USER: z.object({ kind: z.literal('vmUser'), value: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/) }),
  LINUS_VM_NAME: z.object({ kind: z.literal('vmName'), value: z.string().min(1).max(63) }),
  LINUS_VM_OS: z.object({ kind: z.literal('vmOs'), value: z.string().min(1) }),
  LINUS_VM_CPU: z.object({ kind: z.literal('vmCpu'), value: nonNegative }),
  LINUS_VM_RAM: z.object({ kind: z.literal('vmRam'), value: nonNegative }),
  LINUS_VM_DISK: z.object({ kind: z.literal('vmDisk'), value: nonNegative }),
  LINUS_VM_NODE: z.object({ kind: z.literal('vmNode'), value: z.string().min(1) }),
  LINUS_VM_PASSWORD: z.object({ kind: z.literal('vmPassword'), value: z.string().min(1) }),
  LINUS_ERROR_CODE: z.object({ kind: z.literal('errorCode'), value: errorCodeSchema }),
  LINUS_ERROR: z.object({ kind: z.literal('error'), value: z.string() }),
  LINUS_REMEDIATION: z.object({ kind: z.literal('remediation'), value: z.string() }),
  LINUS_EXIT: z.object({ kind: z.literal('exit'), value: nonNegative }),
  LINUS_OFFSET: z.object({ kind: z.literal('offset'), value: nonNegative }),
  LINUS_JOB: z.object({ kind: z.literal('job'), value: z.enum(['RUNNING', 'FINISHED']) }),
  LINUS_END: z.object({ kind: z.literal('end'), value: z.literal('') }),
} as const;

type RecordKey = keyof typeof recordSchemas;
export type LinusRecord = { [K in RecordKey]: z.infer<(typeof recordSchemas)[K]> }[RecordKey];
export type ParsedLine = LinusRecord | { kind: 'log'; line: string } | { kind: 'invalid'; line: string; reason: string };

const LINE = /^(LINUS_[A-Z_]+)(?::(.*))?$/;

export function parseLine(raw: string): ParsedLine {
  const line = raw.replace(/\r$/, '');
  const match = LINE.exec(line);
  if (!match) return { kind: 'log', line };
  const key = match[1] as string;
  if (!(key in recordSchemas)) return { kind: 'log', line };
  const schema = recordSchemas[key as RecordKey];
  const kind = schema.shape.kind.value;
  const parsed = schema.safeParse({ kind, value: match[2] ?? '' });
  if (!parsed.success) {
    return { kind: 'invalid', line, reason: parsed.error.issues.map((issue) => issue.message).join('; ') };
  }
  return parsed.data as LinusRecord;
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

// A host log line (without its "linus: " prefix) worth showing as progress: not a protocol line
// that reached the log, and not the host's echo of its own error or warnings, which the driver
// prints once from the final block.
export function isProgressLog(text: string): boolean {
  return !/^(LINUS_|error \[|warning: )/.test(text);
}
