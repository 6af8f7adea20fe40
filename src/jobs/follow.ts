import type { Connection } from '../ssh/connection.js';
import { LineSplitter } from '../protocol/lines.js';
import { UPLOAD_FAILED, UPLOAD_NEEDED } from '../provisioners/remote.js';
import { addLine, emptyTranscript, type Transcript } from '../protocol/result.js';

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
  lines: string[];
}

// Runs one command and folds its output into a transcript as it arrives. Lines already shown
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
  const lines: string[] = [];
  const take = (line: string) => {
    const index = lines.push(line);
    if (options.seen) options.seen.lines = Math.max(options.seen.lines, index);
    // Upload markers are driver plumbing, not host progress.
    if (line === UPLOAD_NEEDED || line === UPLOAD_FAILED) return;
    const before = { steps: transcript.steps.length, logs: transcript.logs.length, vmId: transcript.vmId };
    addLine(transcript, line);
    if (index <= (options.skip ?? 0)) return;
    if (transcript.steps.length > before.steps) onEvent({ kind: 'step', step: transcript.steps.at(-1) as string });
    if (transcript.logs.length > before.logs) onEvent({ kind: 'log', line: transcript.logs.at(-1) as string });
    if (transcript.vmId !== undefined && transcript.vmId !== before.vmId) onEvent({ kind: 'vmId', vmId: transcript.vmId });
  };
  // Both streams feed one splitter: the provisioner writes whole lines, and `2>&1` merges them anyway.
  const onChunk = (chunk: string) => splitter.push(chunk).forEach(take);
  const result = await connection.exec(command, { onStdout: onChunk, onStderr: onChunk, ...(options.signal ? { signal: options.signal } : {}) });
  splitter.flush().forEach(take);
  return { transcript, code: result.code, lines };
}
