import { LinusError } from '../protocol/errors.js';
import { LineSplitter } from '../protocol/records.js';
import { addLine, emptyTranscript, type Transcript } from '../protocol/transcript.js';
import { cachedRunCommand, uploadCommands, type ProvisionerFile } from '../provisioners/remote.js';
import { connect as sshConnect, type Connection, type SshTarget } from '../ssh/connection.js';

// What a running provisioner shows as it goes (jobs add their own events around these).
export type HostEvent =
  | { kind: 'step'; step: string }
  | { kind: 'log'; line: string }
  // A protocol line as it came (linus folds it into the transcript; -vv shows it).
  | { kind: 'record'; line: string }
  | { kind: 'vmId'; vmId: number }
  | { kind: 'upload'; commands: number };

// Opens a connection to one SSH endpoint: ssh2 by default, an in-process fake in unit tests.
export type Connect = (target: SshTarget) => Promise<Connection>;

export const defaultConnect: Connect = sshConnect;

// Below the smallest SSH packet limit we meet (ssh2 servers take 35000 bytes; OpenSSH 256 KiB).
const MAX_COMMAND_CHARS = 32_000;

export interface HostScriptOptions {
  remoteDir: string;
  onEvent?: (event: HostEvent) => void;
  // Lines a caller has already shown (a re-read after a reconnect): folded again, not reported twice.
  skip?: number;
  // Counts lines as they arrive, so a caller knows how far it got if the command fails.
  seen?: { lines: number };
  signal?: AbortSignal;
  maxCommandChars?: number;
  // Called before every exec, so a count survives a command that fails.
  onExec?: () => void;
  // Every line as it arrived, records too (`linus logs -v`); lines up to skip are not passed.
  onLine?: (line: string) => void;
}

export interface HostScriptResult {
  transcript: Transcript;
  uploaded: boolean;
}

// One command, its output folded into a transcript as it arrives. A line that breaks the protocol
// fails the command once it ended (PROTOCOL_ERROR).
async function execFolded(connection: Connection, command: string, options: HostScriptOptions): Promise<Transcript> {
  const transcript = emptyTranscript();
  const splitter = new LineSplitter();
  options.onExec?.();
  const onEvent = options.onEvent ?? (() => undefined);
  let count = 0;
  const take = (line: string) => {
    count += 1;
    if (options.seen) options.seen.lines = Math.max(options.seen.lines, count);
    const vmId = transcript.vmId;
    const parsed = addLine(transcript, line);
    if (count <= (options.skip ?? 0)) return;
    options.onLine?.(line);
    if (parsed.kind === 'log' && parsed.line !== '') onEvent({ kind: 'log', line: parsed.line });
    if (parsed.kind !== 'log') onEvent({ kind: 'record', line: line.replace(/\r$/, '') });
    if (parsed.kind !== 'record') return;
    if (parsed.record.key === 'STEP') onEvent({ kind: 'step', step: parsed.record.value });
    if (transcript.vmId !== undefined && transcript.vmId !== vmId) onEvent({ kind: 'vmId', vmId: transcript.vmId });
  };
  // Both streams feed one splitter: the provisioner writes whole lines, and `2>&1` merges them anyway.
  const onChunk = (chunk: string) => splitter.push(chunk).forEach(take);
  await connection.exec(command, { onStdout: onChunk, onStderr: onChunk, ...(options.signal ? { signal: options.signal } : {}) });
  splitter.flush().forEach(take);
  // Raised here, not in the stream callbacks, where a throw would escape the exec.
  if (transcript.problem) throw transcript.problem;
  return transcript;
}

// Runs `bash <provisioner> args` on the host: in one exec when this exact version (by sha256) is
// cached there, else it is uploaded in checksum-verified chunks and the last upload command runs
// it. Every caller reads host output through here; the records come back folded (protocol/).
export async function runHostScript(connection: Connection, provisioner: ProvisionerFile, args: readonly string[], options: HostScriptOptions): Promise<HostScriptResult> {
  const first = await execFolded(connection, cachedRunCommand(options.remoteDir, provisioner, args), options);
  if (first.upload !== 'needed') return { transcript: first, uploaded: false };
  const commands = uploadCommands(options.remoteDir, provisioner, options.maxCommandChars ?? MAX_COMMAND_CHARS, args);
  options.onEvent?.({ kind: 'upload', commands: commands.length });
  let transcript = first;
  for (const command of commands) transcript = await execFolded(connection, command, options);
  if (transcript.upload === 'failed') {
    throw new LinusError({ code: 'UPLOAD_FAILED', message: `uploading the provisioner to ${options.remoteDir}/provisioners failed its sha256 check or could not be written` });
  }
  return { transcript, uploaded: true };
}

// Opens a connection for fn and always closes it afterwards.
async function withHost<T>(connect: Connect, target: SshTarget, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(target);
  try {
    return await fn(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

// What reaching the host cost: execs, and uploads of a provisioner that was not cached.
export interface HostStats {
  execs: number;
  uploads: number;
}

// One provisioner command on its own connection to <target>, its cost added to stats.
export async function runOnHost(connect: Connect, target: SshTarget, provisioner: ProvisionerFile, args: readonly string[], options: HostScriptOptions, stats: HostStats): Promise<Transcript> {
  return withHost(connect, target, async (connection) => {
    const { transcript, uploaded } = await runHostScript(connection, provisioner, args, { ...options, onExec: () => (stats.execs += 1) });
    if (uploaded) stats.uploads += 1;
    return transcript;
  });
}
