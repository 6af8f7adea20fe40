import { LinusError } from '../protocol/errors.js';
import type { Transcript } from '../protocol/transcript.js';
import { cachedRunCommand, uploadCommands, type ProvisionerFile } from './remote.js';

// Below the smallest SSH packet limit we meet (ssh2 servers take 35000 bytes; OpenSSH 256 KiB).
export const MAX_COMMAND_CHARS = 32_000;

export interface ProvisionerTarget {
  provisioner: ProvisionerFile;
  remoteDir: string;
  maxCommandChars?: number;
}

// Runs `bash <provisioner> args` in one exec when this exact version is cached on the host;
// otherwise uploads it, and the last upload command runs it. `exec` decides how output is read.
export async function runProvisioner<R extends { transcript: Transcript }>(
  target: ProvisionerTarget,
  args: readonly string[],
  exec: (command: string) => Promise<R>,
  onUpload?: (commands: number) => void,
): Promise<{ result: R; uploaded: boolean }> {
  const first = await exec(cachedRunCommand(target.remoteDir, target.provisioner, args));
  if (first.transcript.upload !== 'needed') return { result: first, uploaded: false };
  const commands = uploadCommands(target.remoteDir, target.provisioner, target.maxCommandChars ?? MAX_COMMAND_CHARS, args);
  onUpload?.(commands.length);
  let result = first;
  for (const command of commands) result = await exec(command);
  if (result.transcript.upload === 'failed') {
    throw new LinusError({ code: 'UPLOAD_FAILED', message: `uploading the provisioner to ${target.remoteDir}/provisioners failed its sha256 check or could not be written` });
  }
  return { result, uploaded: true };
}
