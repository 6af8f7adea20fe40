import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  keyBlob: Buffer;
}

// --known-hosts FILE, else the files OpenSSH reads by default: the user's, then the system's.
export function knownHostsFiles(file: string | undefined): string[] {
  return file ? [file] : [path.join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

// OpenSSH writes non-default ports as [host]:port and matches on that exact form.
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

// The key type is the first SSH string of the blob.
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function matchesHashed(pattern: string, token: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
  return digest === hash;
}

// A line matches when some pattern matches and no negated pattern does (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
export function patternsMatch(patterns: string, token: string): boolean {
  if (patterns.startsWith('|')) return matchesHashed(patterns, token);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (globToRegExp(body).test(token)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [patterns, keyType, keyData] = fields;
    if (patterns === undefined || keyType === undefined || keyData === undefined) return;
    const keyBlob = Buffer.from(keyData, 'base64');
    if (keyTypeOf(keyBlob) !== keyType) return;
    entries.push({ file, line: index + 1, ...(marker ? { marker } : {}), patterns, keyType, keyBlob });
  });
  return entries;
}

export function readKnownHosts(files: string[]): KnownHostEntry[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(fs.readFileSync(file, 'utf8'), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  });
}

export function entriesFor(entries: KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const token = hostToken(host, port);
  return entries.filter((entry) => patternsMatch(entry.patterns, token));
}

export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const line = `${hostToken(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`;
  let prefix = '';
  try {
    const existing = fs.readFileSync(file, 'utf8');
    if (existing !== '' && !existing.endsWith('\n')) prefix = '\n';
  } catch {
    // A missing file is created by the append below.
  }
  fs.appendFileSync(file, prefix + line, { mode: 0o600 });
}
