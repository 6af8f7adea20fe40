import { ERROR_CODES, type ErrorCode } from './codes.js';
import { LinusError } from './errors.js';
import { PROTOCOL_VERSION, parseLine, type HostRecord, type ParsedLine, type RecordKey, type RecordValue } from './records.js';

// What one host command printed, folded line by line (records.ts parses each line). Every reader
// of host output goes through this: provision and clone jobs, VM operations, cleanup and gc.
export interface Transcript {
  protocol?: number;
  runId?: string;
  // The last LINUS_VM_ID seen: the claim, before any final block.
  vmId?: number;
  steps: string[];
  plan: string[];
  warnings: string[];
  // Lines that are not records (human log lines, a tool's own text).
  logs: string[];
  offset?: number;
  job?: 'RUNNING' | 'FINISHED';
  // The driver's cached-run and upload commands: the provisioner must be uploaded, or its upload failed.
  upload?: 'needed' | 'failed';
  // Every record before the final block, in order (cleanup's and gc's lines among them).
  records: HostRecord[];
  // The final block: LINUS_RESULT up to LINUS_END.
  final: HostRecord[];
  ended: boolean;
  // The first line that broke the protocol; every reader below throws it.
  problem?: LinusError;
}

export function emptyTranscript(): Transcript {
  return { steps: [], plan: [], warnings: [], logs: [], records: [], final: [], ended: false };
}

function protocolError(message: string, remediation?: string): LinusError {
  return new LinusError({ code: 'PROTOCOL_ERROR', message, ...(remediation === undefined ? {} : { remediation }) });
}

function fold(transcript: Transcript, record: HostRecord): void {
  switch (record.key) {
    case 'PROTOCOL':
      if (record.value !== PROTOCOL_VERSION) {
        transcript.problem ??= protocolError(
          `the host speaks LINUS protocol ${record.value}; this linus speaks ${PROTOCOL_VERSION}`,
          'Use the same linus version on both sides: run linus again so it uploads its own provisioner.',
        );
      }
      transcript.protocol = record.value;
      return;
    case 'RUN_ID':
      transcript.runId = record.value;
      return;
    case 'VM_ID':
      transcript.vmId = record.value;
      return;
    case 'STEP':
      transcript.steps.push(record.value);
      return;
    case 'PLAN':
      transcript.plan.push(record.value);
      return;
    case 'WARNING':
      transcript.warnings.push(record.value);
      return;
    case 'OFFSET':
      transcript.offset = record.value;
      return;
    case 'JOB':
      transcript.job = record.value;
      return;
    case 'UPLOAD_NEEDED':
      transcript.upload = 'needed';
      return;
    case 'UPLOAD_FAILED':
      transcript.upload = 'failed';
      return;
    default:
  }
}

// Folds one line into the transcript and returns what it was. Never throws (it runs inside stream
// callbacks): a malformed line or an unknown key becomes the transcript's problem.
export function addLine(transcript: Transcript, raw: string): ParsedLine {
  const parsed = parseLine(raw);
  if (parsed.kind === 'log') {
    if (parsed.line !== '') transcript.logs.push(parsed.line);
    return parsed;
  }
  if (parsed.kind === 'invalid') {
    transcript.problem ??= protocolError(`malformed line from the host: ${JSON.stringify(parsed.line.slice(0, 200))} (${parsed.reason})`);
    return parsed;
  }
  const { record } = parsed;
  if (record.key === 'RESULT') {
    transcript.final = [record];
    transcript.ended = false;
  } else if (record.key === 'END') {
    transcript.ended = transcript.final.length > 0;
  } else if (transcript.final.length > 0 && !transcript.ended) {
    transcript.final.push(record);
    if (record.key === 'VM_ID') transcript.vmId = record.value;
  } else {
    transcript.records.push(record);
    fold(transcript, record);
  }
  return parsed;
}

export function parseTranscript(text: string): Transcript {
  const transcript = emptyTranscript();
  for (const line of text.split('\n')) addLine(transcript, line);
  return transcript;
}

export function isFinal(transcript: Transcript): boolean {
  return transcript.final.length > 0 && transcript.ended;
}

function valueOf<K extends RecordKey>(records: readonly HostRecord[], key: K): RecordValue<K> | undefined {
  return records.find((record) => record.key === key)?.value as RecordValue<K> | undefined;
}

function valuesOf<K extends RecordKey>(records: readonly HostRecord[], key: K): Array<RecordValue<K>> {
  return records.filter((record) => record.key === key).map((record) => record.value as RecordValue<K>);
}

function required<T>(value: T | undefined, key: RecordKey): T {
  if (value === undefined) throw protocolError(`the host's final block has no LINUS_${key}`);
  return value;
}

export interface ErrorReport {
  code: ErrorCode;
  exitCode: number;
  message: string;
  remediation: string;
}

export type HostResult =
  | { ok: true; result: 'SUCCESS' | 'DRY_RUN'; final: HostRecord[] }
  // otherNode: the node a VM_ON_OTHER_NODE refusal names (LINUS_ERROR_NODE).
  | { ok: false; error: ErrorReport; otherNode?: string };

// The final block of a complete transcript. Output without a protocol line or a complete final
// block is a PROTOCOL_ERROR even when the command exited 0 (it was cut).
export function hostResult(transcript: Transcript): HostResult {
  if (transcript.problem) throw transcript.problem;
  if (transcript.protocol === undefined) throw protocolError('the host printed no LINUS_PROTOCOL line: is this a linus host script?');
  if (!isFinal(transcript)) throw protocolError('the host output ended without a final LINUS_RESULT block (connection lost or host script killed)');
  const { final } = transcript;
  const result = required(valueOf(final, 'RESULT'), 'RESULT');
  if (result !== 'FAILURE') return { ok: true, result, final };
  const code = required(valueOf(final, 'ERROR_CODE'), 'ERROR_CODE');
  const otherNode = valueOf(final, 'ERROR_NODE');
  const error = {
    code,
    exitCode: valueOf(final, 'EXIT') ?? ERROR_CODES[code].exitCode,
    message: required(valueOf(final, 'ERROR'), 'ERROR'),
    remediation: valueOf(final, 'REMEDIATION') ?? ERROR_CODES[code].remediation,
  };
  return { ok: false, error, ...(otherNode === undefined ? {} : { otherNode }) };
}

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

interface RunLines {
  runId?: string;
  steps: string[];
  warnings: string[];
  logs: string[];
}

// A provision or clone job. Success and failure share one shape (execa's model): `ok` tells them apart.
export type ProvisionOutcome =
  | ({ ok: true; kind: 'success'; vm: VmReport } & RunLines)
  | ({ ok: true; kind: 'dry-run'; plan: string[] } & RunLines)
  // kept: --keep-on-failure left the VM for inspection instead of rolling it back.
  | ({ ok: false; kind: 'failure'; vmId?: number; kept?: boolean; error: ErrorReport; otherNode?: string } & RunLines);

export function toOutcome(transcript: Transcript): ProvisionOutcome {
  const result = hostResult(transcript);
  const lines: RunLines = { runId: transcript.runId, steps: transcript.steps, warnings: transcript.warnings, logs: transcript.logs };
  if (!result.ok) {
    const kept = valueOf(transcript.final, 'VM_KEPT');
    return { ok: false, kind: 'failure', vmId: kept ?? transcript.vmId, ...(kept === undefined ? {} : { kept: true }), error: result.error, ...(result.otherNode === undefined ? {} : { otherNode: result.otherNode }), ...lines };
  }
  if (result.result === 'DRY_RUN') return { ok: true, kind: 'dry-run', plan: transcript.plan, ...lines };
  const { final } = result;
  const password = valueOf(final, 'VM_PASSWORD');
  const vm: VmReport = {
    id: required(valueOf(final, 'VM_ID'), 'VM_ID'),
    name: required(valueOf(final, 'VM_NAME'), 'VM_NAME'),
    ip: required(valueOf(final, 'VM_IP'), 'VM_IP'),
    user: required(valueOf(final, 'VM_USER'), 'VM_USER'),
    node: required(valueOf(final, 'VM_NODE'), 'VM_NODE'),
    os: required(valueOf(final, 'VM_OS'), 'VM_OS'),
    cores: required(valueOf(final, 'VM_CPU'), 'VM_CPU'),
    memoryMiB: required(valueOf(final, 'VM_RAM'), 'VM_RAM'),
    diskGiB: required(valueOf(final, 'VM_DISK'), 'VM_DISK'),
    ...(password === undefined ? {} : { password }),
  };
  return { ok: true, kind: 'success', vm, ...lines };
}

// One `vm.sh <op>` run: the LINUS_DATA objects of its success block (their shapes: data.ts), or
// the failure block's error.
export type OpOutcome =
  | { ok: true; data: Array<Record<string, unknown>>; warnings: string[]; logs: string[] }
  | { ok: false; error: ErrorReport; otherNode?: string; warnings: string[]; logs: string[] };

export function opOutcome(transcript: Transcript): OpOutcome {
  const result = hostResult(transcript);
  const lines = { warnings: transcript.warnings, logs: transcript.logs };
  if (!result.ok) return { ...result, ...lines };
  if (result.result !== 'SUCCESS') throw protocolError(`unexpected LINUS_RESULT:${result.result} from a VM operation`);
  return { ok: true, data: valuesOf(result.final, 'DATA'), ...lines };
}

// The lines of `cleanup` and `gc` before their final block.
export interface CleanupRecords {
  candidates: Array<{ vmId: number; runId: string; reason: string }>;
  cleaned: number[];
  // Volumes of a VM whose `qm create` never finished, freed with it.
  removedVolumes: string[];
  skipped: Array<{ vmId: number; reason: string }>;
  staleJobs: string[];
  staleDownloads: string[];
}

export function cleanupRecords(transcript: Transcript): CleanupRecords {
  const { records } = transcript;
  return {
    candidates: valuesOf(records, 'GC_CANDIDATE'),
    cleaned: valuesOf(records, 'CLEANED'),
    removedVolumes: valuesOf(records, 'GC_REMOVED_VOLUME'),
    skipped: valuesOf(records, 'GC_SKIP'),
    staleJobs: valuesOf(records, 'GC_STALE_JOB'),
    staleDownloads: valuesOf(records, 'GC_STALE_PARTIAL'),
  };
}
