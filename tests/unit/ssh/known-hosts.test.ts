import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostKey } from '../../../src/ssh/host-key.js';
import { entriesFor, fingerprint, parseKnownHosts, readKnownHosts } from '../../../src/ssh/known-hosts.js';

let dir: string;
let keyA: { line: string; blob: Buffer; fp: string };
let keyB: { line: string; blob: Buffer; fp: string };

// Real keys from the real ssh-keygen, and its own fingerprints to compare with.
function makeKey(name: string) {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const line = fs.readFileSync(`${file}.pub`, 'utf8').trim();
  const blob = Buffer.from(line.split(' ')[1] as string, 'base64');
  const fp = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] as string;
  return { line, blob, fp };
}

function knownHosts(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-kh-'));
  keyA = makeKey('a');
  keyB = makeKey('b');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('known_hosts', () => {
  it('computes fingerprints exactly as ssh-keygen -l prints them', () => {
    expect(fingerprint(keyA.blob)).toBe(keyA.fp);
  });

  it('matches [host]:port entries only on that port, and plain entries on port 22', () => {
    const type = keyA.line.split(' ')[0];
    const data = keyA.line.split(' ')[1];
    const entries = parseKnownHosts(`[127.0.0.1]:2222 ${type} ${data}\npve.example.com,10.0.0.2 ${type} ${data}\n`, 'kh');
    expect(entriesFor(entries, '127.0.0.1', 2222)).toHaveLength(1);
    expect(entriesFor(entries, '127.0.0.1', 22)).toHaveLength(0);
    expect(entriesFor(entries, '10.0.0.2', 22)).toHaveLength(1);
    expect(entriesFor(entries, 'PVE.example.com', 22)).toHaveLength(1);
  });

  it('matches entries hashed by ssh-keygen -H, including [host]:port', () => {
    const [type, data] = keyA.line.split(' ');
    const file = knownHosts('hashed', `[127.0.0.1]:2222 ${type} ${data}\npve ${type} ${data}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(entriesFor(readKnownHosts([file]), '127.0.0.1', 2222)).toHaveLength(1);
    expect(entriesFor(readKnownHosts([file]), 'pve', 22)).toHaveLength(1);
    expect(entriesFor(readKnownHosts([file]), 'pve', 2222)).toHaveLength(0);
  });

  it('honours wildcards and negation', () => {
    const [type, data] = keyA.line.split(' ');
    const entries = parseKnownHosts(`*.lab,!bad.lab ${type} ${data}\n`, 'kh');
    expect(entriesFor(entries, 'pve1.lab', 22)).toHaveLength(1);
    expect(entriesFor(entries, 'bad.lab', 22)).toHaveLength(0);
  });
});

describe('host key policy', () => {
  it('accepts the known key and refuses a changed one, naming both fingerprints', () => {
    const [type, data] = keyA.line.split(' ');
    const file = knownHosts('policy', `[127.0.0.1]:2200 ${type} ${data}\n`);
    expect(checkHostKey({ host: '127.0.0.1', port: 2200, knownHostsFiles: [file] }, keyA.blob).accepted).toBe(true);
    const refused = checkHostKey({ host: '127.0.0.1', port: 2200, knownHostsFiles: [file] }, keyB.blob);
    expect(refused.accepted).toBe(false);
    expect(refused.error?.code).toBe('HOST_KEY_MISMATCH');
    expect(refused.error?.message).toContain(keyA.fp);
    expect(refused.error?.message).toContain(keyB.fp);
  });

  it('refuses an unknown host unless told to accept it, then records it once', () => {
    const file = path.join(dir, 'new-known-hosts');
    const unknown = checkHostKey({ host: '127.0.0.1', port: 2201, knownHostsFiles: [file] }, keyA.blob);
    expect(unknown.error?.code).toBe('HOST_KEY_UNKNOWN');
    expect(fs.existsSync(file)).toBe(false);
    const recorded = checkHostKey({ host: '127.0.0.1', port: 2201, knownHostsFiles: [file], acceptNew: true }, keyA.blob);
    expect(recorded).toMatchObject({ accepted: true, recorded: true });
    expect(fs.readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:2201 ${keyA.line.split(' ').slice(0, 2).join(' ')}\n`);
    // accept-new never overrides a changed key.
    const changed = checkHostKey({ host: '127.0.0.1', port: 2201, knownHostsFiles: [file], acceptNew: true }, keyB.blob);
    expect(changed.error?.code).toBe('HOST_KEY_MISMATCH');
  });

  it('checks pins instead of known_hosts, and honours @revoked', () => {
    expect(checkHostKey({ host: 'h', port: 22, knownHostsFiles: [], pins: [keyA.fp] }, keyA.blob).accepted).toBe(true);
    const pinned = checkHostKey({ host: 'h', port: 22, knownHostsFiles: [], pins: [keyA.fp] }, keyB.blob).error;
    expect(pinned?.code).toBe('HOST_KEY_MISMATCH');
    // A pin is fixed by pinning the new key, not by editing known_hosts.
    expect(pinned?.remediation).toContain(`pin that instead: --host-key ${keyB.fp}`);
    expect(pinned?.remediation).not.toContain('ssh-keygen -R');
    const [type, data] = keyA.line.split(' ');
    const file = knownHosts('revoked', `@revoked * ${type} ${data}\nh ${type} ${data}\n`);
    expect(checkHostKey({ host: 'h', port: 22, knownHostsFiles: [file] }, keyA.blob).error?.message).toMatch(/@revoked/);
  });
});
