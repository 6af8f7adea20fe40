import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { survive } from './caller.js';
import { callerFile, type ToolContext } from './context.js';
import { PveDie } from './die.js';
import { uriEscape, uriUnescape } from './uri-escape.js';

// qm.pm `param_mapping`: on the CLI, --sshkeys names a file whose content is stored URI-escaped.
export function mapSshKeysFile(ctx: ToolContext, params: Record<string, string>): void {
  const file = params.sshkeys;
  if (file === undefined) return;
  let content: string;
  try {
    content = fs.readFileSync(callerFile(ctx, file), 'utf8');
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory' : (err.message ?? 'error');
    throw new PveDie(`can't open '${file}' - ${reason}`, err.code === 'ENOENT' ? 2 : 255);
  }
  params.sshkeys = uriEscape(content);
}

// Tools.pm `validate_ssh_public_keys`: every non-blank line must pass `ssh-keygen -l` (run
// without blocking the tool server's other calls).
export async function validateSshKeys(ctx: ToolContext, escaped: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sim-key-'));
  try {
    for (const line of uriUnescape(escaped).split('\n')) {
      if (/^\s*$/.test(line)) continue;
      const file = path.join(dir, 'key');
      fs.writeFileSync(file, `${line}\n`);
      const valid = await survive(new Promise<boolean>((resolve) => execFile('ssh-keygen', ['-l', '-f', file], { env: ctx.env }, (error) => resolve(error === null))));
      if (!valid) throw new PveDie('SSH public key validation error');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
