import type { Connection } from '../ssh/connection.js';
import { LineSplitter } from '../protocol/records.js';
import { addLine, emptyTranscript, type Transcript } from '../protocol/transcript.js';

export type ProgressEvent =
  | { kind: 'step'; step: string }
  | { kind: 'log'; line: string }
  | { kind: 'vmId'; vmId: number }
  | { kind: 'upload'; commands: number }
  | { kind: 'reconnect'; attempt: number; delayMs: number; reason: string }
  | { kind: 'retry'; attempt: number; delayMs: number; code: string }
  | { kind: 'cancel' };

export interface StreamResult {
  transcript: Transcript;
  code: number | null;
}

// Runs one command and folds its output into a transcript as it arrives; a line that breaks the
// protocol fails the command once it ended (PROTOCOL_ERROR). Lines already shown
// (counted by `skip`) are folded again but not reported twice, so a re-read after a reconnect
// does not repeat progress.
export async function streamCommand(
  connection: Connection,
  command: string,
  onEvent: (event: ProgressEvent) => void,
  // `seen` counts lines as they arrive, so a caller knows how far it got if the command fails.
  options: { skip?: number; signal?: AbortSignal; seen?: { lines: number } } = {},
): Promise<StreamResult> {
  const transcript = emptyTranscript();
  const splitter = new LineSplitter();
  let count = 0;
  const take = (line: string) => {
    count += 1;
    if (options.seen) options.seen.lines = Math.max(options.seen.lines, count);
    const vmId = transcript.vmId;
    const parsed = addLine(transcript, line);
    if (count <= (options.skip ?? 0)) return;
    if (parsed.kind === 'log' && parsed.line !== '') onEvent({ kind: 'log', line: parsed.line });
    if (parsed.kind !== 'record') return;
    if (parsed.record.key === 'STEP') onEvent({ kind: 'step', step: parsed.record.value });
    if (transcript.vmId !== undefined && transcript.vmId !== vmId) onEvent({ kind: 'vmId', vmId: transcript.vmId });
  };
  // Both streams feed one splitter: the provisioner writes whole lines, and `2>&1` merges them anyway.
  const onChunk = (chunk: string) => splitter.push(chunk).forEach(take);
  const result = await connection.exec(command, { onStdout: onChunk, onStderr: onChunk, ...(options.signal ? { signal: options.signal } : {}) });
  splitter.flush().forEach(take);
  // Raised here, not in the stream callbacks, where a throw would escape the exec.
  if (transcript.problem) throw transcript.problem;
  return { transcript, code: result.code };
}
