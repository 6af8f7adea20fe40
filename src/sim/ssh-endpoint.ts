import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel, Session } from 'ssh2';
import { LinusError } from '../protocol/errors.js';
import { ROOT_PATH_DIRS } from './paths.js';

// What a client needs to reach a simulated host over SSH (embedded ssh2 or real sshd).
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  // As `ssh-keygen -lf` prints it: SHA256:<base64 without padding>.
  hostKeyFingerprint: string;
  // `ssh-ed25519 AAAA...`, without a comment.
  hostPublicKey: string;
  close(): Promise<void>;
}

export const SIM_SSH_USER = 'root';
const LOOPBACK = '127.0.0.1';
// The signal names RFC 4254 6.10 defines; others cannot travel in exit-signal.
const SSH_SIGNALS = new Set(['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2']);
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const CLOSE_GRACE_MS = 2000;

export function sshFingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (blob === undefined) {
    throw new LinusError({ code: 'INTERNAL', message: `not an OpenSSH public key line: ${publicKeyLine}` });
  }
  return sshFingerprintOfBlob(Buffer.from(blob, 'base64'));
}

// `type base64` only: known_hosts and fingerprints must not depend on a comment.
export function publicKeyWithoutComment(publicKeyLine: string): string {
  return publicKeyLine.trim().split(/\s+/).slice(0, 2).join(' ');
}

// ssh2 1.17's generator drops a leading zero byte of the public key about once in 250 keys
// (a 31-byte key nothing can parse): generate again until both halves parse.
export function generateEd25519(comment?: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new LinusError({ code: 'INTERNAL', message: 'could not generate a valid ed25519 key pair' });
}

// id_ed25519 (OpenSSH format, 0600, usable by the real ssh client) and id_ed25519.pub in dir.
export function writeClientKey(dir: string): { identityFile: string; publicKey: string } {
  const pair = generateEd25519('linus-sim-client');
  const identityFile = path.join(dir, 'id_ed25519');
  fs.rmSync(identityFile, { force: true });
  fs.writeFileSync(identityFile, `${pair.private.trimEnd()}\n`, { mode: 0o600 });
  fs.writeFileSync(`${identityFile}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  return { identityFile, publicKey: pair.public.trim() };
}

export function writeKnownHosts(dir: string, port: number, hostPublicKey: string): string {
  const knownHostsFile = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHostsFile, `[${LOOPBACK}]:${port} ${publicKeyWithoutComment(hostPublicKey)}\n`);
  return knownHostsFile;
}

function parseKeyOrThrow(data: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) throw new LinusError({ code: 'INTERNAL', message: `cannot parse a generated key: ${parsed.message}`, cause: parsed });
  return parsed;
}

function sameBytes(input: Buffer, allowed: Buffer): boolean {
  // Compare equal lengths only, in constant time (ssh2 README's checkValue).
  return input.length === allowed.length && timingSafeEqual(input, allowed);
}

// The environment sshd gives a non-pty session of root: nothing from the parent (no AcceptEnv).
function sessionEnv(connection: { ip: string; port: number }, localPort: number): NodeJS.ProcessEnv {
  return {
    USER: SIM_SSH_USER,
    LOGNAME: SIM_SSH_USER,
    HOME: os.homedir(),
    SHELL: '/bin/bash',
    PATH: ROOT_PATH_DIRS.join(':'),
    SSH_CLIENT: `${connection.ip} ${connection.port} ${localPort}`,
    SSH_CONNECTION: `${connection.ip} ${connection.port} ${LOOPBACK} ${localPort}`,
  };
}

function sendExit(channel: ServerChannel, code: number | null, signal: NodeJS.Signals | null): void {
  if (code !== null) channel.exit(code);
  else if (signal !== null && SSH_SIGNALS.has(signal.replace(/^SIG/, ''))) channel.exit(signal);
  else channel.exit(128 + (signal === null ? 0 : (os.constants.signals[signal] ?? 0)));
}

// Runs one exec (or the sftp subsystem) like sshd without a pty: own process group, separate
// stdout/stderr, exit status at the end. A closed channel only stops forwarding, as sshd does.
function runCommand(channel: ServerChannel, hostShell: string, command: string, env: NodeJS.ProcessEnv, children: Set<ChildProcess>): ChildProcess {
  const child = spawn(hostShell, ['-c', command], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env });
  children.add(child);
  // EPIPE here means the child stopped reading stdin: sshd ignores that too.
  child.stdin.on('error', () => undefined);
  channel.on('error', () => undefined);
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  child.on('error', (error) => {
    children.delete(child);
    channel.stderr.write(`linus-sim: cannot run ${hostShell}: ${error.message}\n`);
    channel.exit(127);
    channel.end();
  });
  // Like sshd: exit status when the command exits; channel close once its output pipes are at
  // EOF (a background process still holding them keeps the session open).
  child.on('exit', (code, signal) => {
    if (channel.writable) sendExit(channel, code, signal);
  });
  child.on('close', () => {
    children.delete(child);
    if (channel.writable) channel.end();
  });
  channel.on('close', () => {
    child.stdout.unpipe(channel);
    child.stderr.unpipe(channel.stderr);
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.destroy();
  });
  return child;
}

function serveSession(session: Session, hostShell: string, env: NodeJS.ProcessEnv, children: Set<ChildProcess>): void {
  let child: ChildProcess | undefined;
  session.on('exec', (accept, _reject, info) => {
    child = runCommand(accept(), hostShell, info.command, env, children);
  });
  // As sshd with `Subsystem sftp /usr/lib/openssh/sftp-server`, run through the host's shell.
  session.on('subsystem', (accept, reject, info) => {
    if (info.name !== 'sftp' || !fs.existsSync(SFTP_SERVER)) return reject();
    child = runCommand(accept(), hostShell, SFTP_SERVER, env, children);
  });
  session.on('signal', (accept, reject, info) => {
    const name = info.name.replace(/^SIG/, '');
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null || !SSH_SIGNALS.has(name)) return reject?.();
    try {
      // sshd's session_signal_req does killpg on the session's process group.
      process.kill(-child.pid, `SIG${name}` as NodeJS.Signals);
    } catch {
      return reject?.();
    }
    accept?.();
  });
}

function authenticate(connection: Connection, allowedKey: ParsedKey): void {
  const allowedUser = Buffer.from(SIM_SSH_USER);
  const allowedBlob = allowedKey.getPublicSSH();
  connection.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const userOk = sameBytes(Buffer.from(ctx.username), allowedUser);
    if (!userOk || ctx.key.algo !== allowedKey.type || !sameBytes(ctx.key.data, allowedBlob)) return ctx.reject(['publickey']);
    // No signature: the client only asks whether this key would do (SSH_MSG_USERAUTH_PK_OK).
    if (ctx.signature === undefined || ctx.blob === undefined) return ctx.accept();
    if (allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
    ctx.accept();
  });
}

async function terminate(children: Set<ChildProcess>): Promise<void> {
  const pending = [...children].filter((child) => child.pid !== undefined && child.exitCode === null && child.signalCode === null);
  const exited = pending.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
  const signalAll = (signal: NodeJS.Signals) => {
    for (const child of pending) {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // Already gone.
      }
    }
  };
  signalAll('SIGTERM');
  const timer = setTimeout(() => signalAll('SIGKILL'), CLOSE_GRACE_MS);
  await Promise.all(exited);
  clearTimeout(timer);
}

// An ssh2 server in front of a simulated host: public-key auth for root only, exec without pty.
// close() is a host shutdown: connections end and still-running commands get SIGTERM, then SIGKILL.
// `client` makes it accept an identity another endpoint wrote (one key for every node of a cluster).
export async function startSshEndpoint(opts: { hostShell: string; dir: string; port?: number; client?: { identityFile: string; publicKey: string } }): Promise<SshEndpoint> {
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const hostPair = generateEd25519();
  const hostPublicKey = publicKeyWithoutComment(hostPair.public);
  const client = opts.client ?? writeClientKey(opts.dir);
  const allowedKey = parseKeyOrThrow(client.publicKey);
  const connections = new Set<Connection>();
  const children = new Set<ChildProcess>();
  let localPort = 0;

  const server = new ssh2.Server({ hostKeys: [hostPair.private] }, (connection, info) => {
    connections.add(connection);
    // A peer that resets the socket must not take the endpoint down.
    connection.on('error', () => undefined);
    connection.on('close', () => connections.delete(connection));
    authenticate(connection, allowedKey);
    connection.on('ready', () => {
      const env = sessionEnv(info, localPort);
      connection.on('session', (accept) => serveSession(accept(), opts.hostShell, env, children));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) => reject(new LinusError({ code: 'SANDBOX_FAILED', message: `cannot listen on ${LOOPBACK}: ${error.message}`, cause: error })));
    server.listen(opts.port ?? 0, LOOPBACK, () => resolve());
  });
  localPort = (server.address() as AddressInfo).port;
  const knownHostsFile = writeKnownHosts(opts.dir, localPort, hostPublicKey);

  let closing: Promise<void> | undefined;
  return {
    host: LOOPBACK,
    port: localPort,
    user: SIM_SSH_USER,
    identityFile: client.identityFile,
    knownHostsFile,
    hostKeyFingerprint: sshFingerprint(hostPublicKey),
    hostPublicKey,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const connection of connections) connection.end();
        await terminate(children);
        await closed;
      })();
      return closing;
    },
  };
}
