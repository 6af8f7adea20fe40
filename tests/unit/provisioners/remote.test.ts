import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UPLOAD_NEEDED, cachedRunCommand, remotePath, uploadCommands, type ProvisionerFile } from '../../../src/provisioners/remote.js';

function provisioner(body: string): ProvisionerFile {
  const content = Buffer.from(body);
  return { name: 'proxmox', version: '0.1.0', fileSha256: createHash('sha256').update(content).digest('hex'), content };
}

function bash(command: string) {
  const result = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const script = `#!/usr/bin/env bash\nprintf 'args:'; printf ' [%s]' "$@"; echo\n# ${randomBytes(30_000).toString('hex')}\n`;

describe('remote provisioner commands', () => {
  it.each([1000, 5000, 100_000])('uploads in commands of at most %i characters, verified and renamed into place', (max) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-up-'));
    const prov = provisioner(script);
    const commands = uploadCommands(dir, prov, max, ['run', '--name', "it's $(hostile)"]);
    expect(commands.every((command) => command.length <= max && !command.includes('\n'))).toBe(true);
    let last = { code: 0 as number | null, stdout: '', stderr: '' };
    for (const command of commands) last = bash(command);
    expect(last.code).toBe(0);
    expect(last.stdout).toBe("args: [run] [--name] [it's $(hostile)]\n");
    expect(fs.readFileSync(remotePath(dir, prov)).equals(prov.content)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'provisioners'))).toEqual([path.basename(remotePath(dir, prov))]);
  });

  it('runs the cached copy in one command, and asks for an upload when it is missing or altered', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-up-'));
    const prov = provisioner(script);
    expect(bash(cachedRunCommand(dir, prov, ['version'])).stdout.trim()).toBe(UPLOAD_NEEDED);
    for (const command of uploadCommands(dir, prov, 100_000)) expect(bash(command).code).toBe(0);
    expect(bash(cachedRunCommand(dir, prov, ['version'])).stdout).toBe('args: [version]\n');
    fs.appendFileSync(remotePath(dir, prov), 'echo tampered\n');
    expect(bash(cachedRunCommand(dir, prov, ['version'])).stdout.trim()).toBe(UPLOAD_NEEDED);
  });

  it('refuses a corrupted upload and leaves nothing behind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-up-'));
    const prov = provisioner(script);
    const commands = uploadCommands(dir, prov, 5000);
    // Drop one chunk: the sha256 check must fail.
    const broken = [...commands.slice(0, 1), ...commands.slice(2)];
    let last = { code: 0 as number | null, stdout: '', stderr: '' };
    for (const command of broken) last = bash(command);
    expect(last.code).toBe(1);
    expect(last.stdout).toContain('LINUS_UPLOAD_FAILED');
    expect(fs.readdirSync(path.join(dir, 'provisioners'))).toEqual([]);
    expect(execFileSync('ls', ['-A', path.join(dir, 'provisioners')]).toString()).toBe('');
  });
});
