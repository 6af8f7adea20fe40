import { ERROR_CODES, type ErrorCode } from './codes.js';
import { LinusError } from './errors.js';
import { PROTOCOL_VERSION, parseLine, type LinusRecord } from './lines.js';

export interface VmReport {
  id: number;
  name: string;
  ip: string;
  user: string;
  node: string;
  os: string;
  cores: number;
  memoryMiB: number;
  diskGiB: number;
  password?: string;
}

export interface ErrorReport {
  code: ErrorCode;
  exitCode: number;
  message: string;
  remediation: string;
}

// Success and failure share one shape (execa's model): `ok` tells them apart.
export type ProvisionOutcome =
  | { ok: true; kind: 'success'; runId?: string; vm: VmReport; steps: string[]; logs: string[] }
  | { ok: true; kind: 'dry-run'; runId?: string; plan: string[]; steps: string[]; logs: string[] }
  | { ok: false; kind: 'failure'; runId?: string; vmId?: number; error: ErrorReport; steps: string[]; logs: string[] };

export interface Transcript {
  protocol?: number;
  runId?: string;
  vmId?: number;
  steps: string[];
  plan: string[];
  logs: string[];
  offset?: number;
  job?: 'RUNNING' | 'FINISHED';
  final: LinusRecord[];
  ended: boolean;
}

export function emptyTranscript(): Transcript {
  return { steps: [], plan: [], logs: [], final: [], ended: false };
}

function protocolError(message: string): LinusError {
  return new LinusError({ code: 'PROTOCOL_ERROR', message });
}

// Folds one line into the transcript. The final block runs from LINUS_RESULT to LINUS_END.
export function addLine(transcript: Transcript, raw: string): void {
  const record = parseLine(raw);
  switch (record.kind) {
    case 'log':
      if (record.line !== '') transcript.logs.push(record.line);
      return;
    case 'invalid':
      throw protocolError(`malformed line from the host: ${JSON.stringify(record.line)} (${record.reason})`);
    case 'protocol':
      if (record.value !== PROTOCOL_VERSION) {
        throw new LinusError({
          code: 'PROTOCOL_ERROR',
          message: `the host speaks LINUS protocol ${record.value}; this linus speaks ${PROTOCOL_VERSION}`,
          remediation: 'Use the same linus version on both sides: run linus again so it uploads its own provisioner.',
        });
      }
      transcript.protocol = record.value;
      return;
    case 'runId':
      transcript.runId = record.value;
      return;
    case 'step':
      transcript.steps.push(record.value);
      return;
    case 'plan':
      transcript.plan.push(record.value);
      return;
    case 'offset':
      transcript.offset = record.value;
      return;
    case 'job':
      transcript.job = record.value;
      return;
    case 'result':
      transcript.final = [record];
      transcript.ended = false;
      return;
    case 'end':
      transcript.ended = transcript.final.length > 0;
      return;
    default:
      if (record.kind === 'vmId') transcript.vmId = record.value;
      if (transcript.final.length > 0 && !transcript.ended) transcript.final.push(record);
  }
}

type ValueOf = { [R in LinusRecord as R['kind']]: R['value'] };

function field<K extends keyof ValueOf>(records: LinusRecord[], kind: K): ValueOf[K] | undefined {
  const found = records.find((record) => record.kind === kind);
  return found?.value as ValueOf[K] | undefined;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw protocolError(`the host's final record has no ${name}`);
  return value;
}

// A transcript without a complete final block is a failure, even when the command exited 0.
export function toOutcome(transcript: Transcript): ProvisionOutcome {
  if (transcript.protocol === undefined) throw protocolError('the host printed no LINUS_PROTOCOL line: is this a linus provisioner?');
  if (transcript.final.length === 0 || !transcript.ended) {
    throw protocolError('the host output ended without a final LINUS_RESULT block (connection lost or provisioner killed)');
  }
  const records = transcript.final;
  const base = { runId: transcript.runId, steps: transcript.steps, logs: transcript.logs };
  const result = field(records, 'result');
  if (result === 'DRY_RUN') return { ok: true, kind: 'dry-run', plan: transcript.plan, ...base };
  if (result === 'FAILURE') {
    const code = required(field(records, 'errorCode'), 'LINUS_ERROR_CODE');
    return {
      ok: false,
      kind: 'failure',
      vmId: transcript.vmId,
      error: {
        code,
        exitCode: field(records, 'exit') ?? ERROR_CODES[code].exitCode,
        message: required(field(records, 'error'), 'LINUS_ERROR'),
        remediation: field(records, 'remediation') ?? ERROR_CODES[code].remediation,
      },
      ...base,
    };
  }
  const password = field(records, 'vmPassword');
  const vm: VmReport = {
    id: required(field(records, 'vmId'), 'LINUS_VM_ID'),
    name: required(field(records, 'vmName'), 'LINUS_VM_NAME'),
    ip: required(field(records, 'vmIp'), 'LINUS_VM_IP'),
    user: required(field(records, 'vmUser'), 'LINUS_VM_USER'),
    node: required(field(records, 'vmNode'), 'LINUS_VM_NODE'),
    os: required(field(records, 'vmOs'), 'LINUS_VM_OS'),
    cores: required(field(records, 'vmCpu'), 'LINUS_VM_CPU'),
    memoryMiB: required(field(records, 'vmRam'), 'LINUS_VM_RAM'),
    diskGiB: required(field(records, 'vmDisk'), 'LINUS_VM_DISK'),
    ...(password === undefined ? {} : { password }),
  };
  return { ok: true, kind: 'success', vm, ...base };
}

export function parseTranscript(text: string): Transcript {
  const transcript = emptyTranscript();
  for (const line of text.split('\n')) addLine(transcript, line);
  return transcript;
}

// The LINUS_WARNING lines of a run (capacity warnings): shown on stderr and in the JSON.
export function outcomeWarnings(outcome: { logs: string[] }): string[] {
  return outcome.logs.filter((line) => line.startsWith('LINUS_WARNING:')).map((line) => line.slice('LINUS_WARNING:'.length));
}
