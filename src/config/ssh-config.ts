import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// What linus takes from ~/.ssh/config: the simple subset most files use. Include and Match
// blocks are skipped (a Match condition cannot be evaluated here, and following Include would
// read files the user did not point linus at); tokens other than %h and %% are left as written.
export interface SshConfigEntry {
  hostName?: { value: string; pattern: string };
  port?: { value: number; pattern: string };
  user?: { value: string; pattern: string };
  identityFile?: { value: string; pattern: string };
}

interface Block {
  patterns: string[];
  options: Array<[key: string, value: string]>;
}

export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

export const sshConfigPath = (env: NodeJS.ProcessEnv) => path.join(homeOf(env), '.ssh', 'config');

// "~/x" and "~" name the home directory, as in ssh_config(5).
export function expandHome(file: string, home: string): string {
  if (file === '~') return home;
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

export function parseSshConfig(text: string): Block[] {
  // Options before the first Host apply to every host.
  const blocks: Block[] = [{ patterns: ['*'], options: [] }];
  let current: Block | undefined = blocks[0];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    const key = (match[1] as string).toLowerCase();
    const value = (match[2] as string).trim();
    if (key === 'host') {
      current = { patterns: value.split(/\s+/).map(unquote), options: [] };
      blocks.push(current);
    } else if (key === 'match') {
      current = undefined;
    } else if (current) {
      current.options.push([key, unquote(value)]);
    }
  }
  return blocks;
}

// OpenSSH's match_pattern: * any run of characters, ? exactly one.
function globMatches(pattern: string, host: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(host);
}

// A Host line matches when a pattern matches and no negated (!pattern) one does.
function blockMatches(patterns: string[], host: string): boolean {
  if (patterns.some((pattern) => pattern.startsWith('!') && globMatches(pattern.slice(1), host))) return false;
  return patterns.some((pattern) => !pattern.startsWith('!') && globMatches(pattern, host));
}

// The settings for <host>: for each key the first value of any matching block, as OpenSSH does.
export function lookupSshConfig(blocks: Block[], host: string, home: string): SshConfigEntry {
  const entry: SshConfigEntry = {};
  for (const block of blocks) {
    if (!blockMatches(block.patterns, host)) continue;
    const pattern = block.patterns.join(' ');
    for (const [key, value] of block.options) {
      if (key === 'hostname' && !entry.hostName) entry.hostName = { value: value.replace(/%(%|h)/g, (_all, token: string) => (token === 'h' ? host : '%')), pattern };
      else if (key === 'port' && !entry.port && /^\d+$/.test(value)) entry.port = { value: Number(value), pattern };
      else if (key === 'user' && !entry.user) entry.user = { value, pattern };
      else if (key === 'identityfile' && !entry.identityFile) entry.identityFile = { value: expandHome(value, home), pattern };
    }
  }
  return entry;
}

export function readSshConfig(file: string, host: string, home: string): SshConfigEntry {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  return lookupSshConfig(parseSshConfig(text), host, home);
}

// The usual key files, newest key type first (ssh itself tries id_rsa first; a user with both
// most likely made the ed25519 one for this).
export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export function defaultIdentity(home: string): string | undefined {
  return DEFAULT_KEY_FILES.map((name) => path.join(home, '.ssh', name)).find((file) => fs.existsSync(file));
}

// How linus logs in when no identity is named: the ssh-agent, else LINUS_SSH_PASSWORD, else the
// first usual key file; undefined when there is none of them.
export type FallbackLogin = { agent: string } | { password: true } | { identity: string };

export function fallbackLogin(env: NodeJS.ProcessEnv): FallbackLogin | undefined {
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  if (env.LINUS_SSH_PASSWORD !== undefined) return { password: true };
  const identity = defaultIdentity(homeOf(env));
  return identity === undefined ? undefined : { identity };
}
