import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/driver.js';

// A wrong --identity is an operator's mistake: a clear error with the fix, before anything
// connects (nothing listens on the target port), never INTERNAL with a stack trace.
describe('--identity that is not a usable private key', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-identity-'));
  const plain = path.join(dir, 'id_plain');
  const locked = path.join(dir, 'id_locked');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plain]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-f', locked]);
  fs.writeFileSync(path.join(dir, 'garbage'), 'not a key\n');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const list = (identity: string, env: Record<string, string> = {}) =>
    runCli(['vm', 'list', '--host', '127.0.0.1', '--port', '1', '--identity', identity, '--known-hosts', '/dev/null', '--json'], env);

  it.each([
    ['a public key', `${plain}.pub`, {}, 'CONFIG_INVALID', 25, `the identity file ${plain}.pub holds a public key`, `Pass the private half (${plain}, without .pub)`],
    ['an encrypted key without a passphrase', locked, {}, 'AUTH_FAILED', 22, `the identity file ${locked} is encrypted and no passphrase was given`, 'LINUS_SSH_KEY_PASSPHRASE'],
    ['an encrypted key with the wrong passphrase', locked, { LINUS_SSH_KEY_PASSPHRASE: 'wrong' }, 'AUTH_FAILED', 22, `LINUS_SSH_KEY_PASSPHRASE does not decrypt the identity file ${locked}`, 'ssh-agent'],
    ['something else', path.join(dir, 'garbage'), {}, 'CONFIG_INVALID', 25, 'is not a private key linus can read', 'OpenSSH or PEM private key'],
  ])('%s', async (_what, identity, env, code, exitCode, message, remediation) => {
    const result = await list(identity, env);
    expect(result.code).toBe(exitCode);
    const { error } = result.json();
    expect(error).toMatchObject({ code });
    expect(error.message).toContain(message);
    expect(error.remediation).toContain(remediation);
    expect(result.stderr).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('a decryptable key gets past the check to the connection itself', async () => {
    const result = await list(locked, { LINUS_SSH_KEY_PASSPHRASE: 'open sesame' });
    expect(result.json().error).toMatchObject({ code: 'CONNECTION_FAILED' });
  });
});
