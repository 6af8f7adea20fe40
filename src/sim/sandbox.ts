import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { shellQuote } from '../util/shell-quote.js';
import { createSimHost, openSimHost, type SimHost } from './host.js';
import { startImageServer } from './image-server.js';
import { compiledSimFile, simPaths } from './paths.js';
import { VERSION_PROFILES, withSettings, type HostSettingsSource, type VersionProfile } from './settings.js';
import { startSshEndpoint, type SshEndpoint } from './ssh-endpoint.js';
import { startSshd } from './sshd.js';

export const SANDBOX_STORAGE = 'local-lvm';
export const SANDBOX_BRIDGE = 'vmbr0';
const UP_TIMEOUT_MS = 60_000;
const DOWN_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
// How long an `up` may take between claiming the directory and recording the daemon's pid.
const CLAIM_GRACE_MS = 5_000;
const MARKER = 'LINUS-SANDBOX';

export const sandboxInfoSchema = z
  .object({
    pid: z.number().int().positive(),
    transport: z.enum(['embedded', 'sshd']),
    pveVersion: z.enum(Object.keys(VERSION_PROFILES) as [VersionProfile, ...VersionProfile[]]),
    host: z.string(),
    port: z.number().int().min(1).max(65535),
    user: z.string(),
    identityFile: z.string(),
    knownHostsFile: z.string(),
    hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]+$/),
    node: z.string(),
    storage: z.string(),
    bridge: z.string(),
    remoteDir: z.string(),
    imageUrl: z.string().url(),
    imageSha256: z.string().regex(/^[0-9a-f]{64}$/),
    sumsUrl: z.string().url(),
    // Every OS image the sandbox's image server offers, by linus OS id (imageUrl is ubuntu-24.04's).
    images: z.record(z.string(), z.object({ url: z.string().url(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict()),
    createdAt: z.string().datetime(),
  })
  .strict();

export type SandboxInfo = z.infer<typeof sandboxInfoSchema>;

export const sandboxOptionsSchema = z
  .object({
    sshd: z.boolean().default(false),
    existingVms: z.number().int().nonnegative().default(0),
    version: z.enum(Object.keys(VERSION_PROFILES) as [VersionProfile, ...VersionProfile[]]).default('8.4'),
    // A host already prepared for linus (snippets on `local`); the default is a stock install.
    prepared: z.boolean().default(false),
  })
  .strict();

export type SandboxOptions = z.input<typeof sandboxOptionsSchema>;

export type SandboxState =
  | { state: 'down' }
  | { state: 'starting'; pid: number | undefined }
  | { state: 'up'; info: SandboxInfo }
  | { state: 'stale'; pid: number | undefined };

export function defaultSandboxDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LINUS_SANDBOX_DIR) return path.resolve(env.LINUS_SANDBOX_DIR);
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'linus', 'sandbox');
}

export function sandboxFiles(dir: string) {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    marker: path.join(abs, MARKER),
    info: path.join(abs, 'sandbox.json'),
    pid: path.join(abs, 'daemon.pid'),
    log: path.join(abs, 'daemon.log'),
    hostRoot: path.join(abs, 'host'),
    ssh: path.join(abs, 'ssh'),
    images: path.join(abs, 'images'),
  };
}

export interface RunningSandbox {
  info: SandboxInfo;
  simHost: SimHost;
  close(): Promise<void>;
}

// Closes what was started, newest first, and every one of them even when one fails.
async function closeAll(closers: Array<() => Promise<void>>): Promise<void> {
  const errors: unknown[] = [];
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}

// Starts the simulated host, its SSH endpoint and the image server in this process.
// <settings> (host.json) are for tests: an operator's sandbox keeps a real host's timings.
export async function startSandboxServices(dir: string, input: SandboxOptions = {}, settings: HostSettingsSource = {}): Promise<RunningSandbox> {
  const options = sandboxOptionsSchema.parse(input);
  const files = sandboxFiles(dir);
  const closers: Array<() => Promise<void>> = [];
  try {
    const simHost = await createSimHost({ root: files.hostRoot, settings: withSettings(settings, (host) => ({ ...host, version: options.version, prepared: options.prepared })), existingVms: options.existingVms });
    closers.push(() => simHost.dispose());
    const start = options.sshd ? startSshd : startSshEndpoint;
    const endpoint: SshEndpoint = await start({ hostShell: simHost.hostShell(), home: simHost.paths.home, dir: files.ssh });
    closers.push(() => endpoint.close());
    const images = await startImageServer({ dir: files.images });
    closers.push(() => images.close());
    const [image] = images.images;
    if (image === undefined) throw new LinusError({ code: 'INTERNAL', message: 'the image server serves no image' });
    const info: SandboxInfo = {
      pid: process.pid,
      transport: options.sshd ? 'sshd' : 'embedded',
      pveVersion: options.version,
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      identityFile: endpoint.identityFile,
      knownHostsFile: endpoint.knownHostsFile,
      hostKeyFingerprint: endpoint.hostKeyFingerprint,
      node: simHost.node,
      storage: SANDBOX_STORAGE,
      bridge: SANDBOX_BRIDGE,
      remoteDir: simHost.paths.remoteDir,
      imageUrl: image.url,
      imageSha256: image.sha256,
      sumsUrl: images.sumsUrl,
      images: Object.fromEntries(images.images.map((served) => [served.os, { url: served.url, sha256: served.sha256 }])),
      createdAt: new Date().toISOString(),
    };
    return { info, simHost, close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers).catch(() => undefined);
    throw error;
  }
}

// For one-shot use (`--sandbox`): everything in-process in a temporary directory, torn down after fn.
// The directory holds the sandbox's private key: a Ctrl-C must never leave it behind. While the
// sandbox starts or is taken down, the first one lets that finish (a start then runs nothing);
// while the command runs, the command's own Ctrl-C handler has it, or without one the run ends
// as it would without a sandbox. A second one removes the directory and ends the process at once.
export async function withSandbox<T>(fn: (sandbox: SandboxInfo & { simHost: SimHost }) => Promise<T>, opts: SandboxOptions = {}): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sandbox-'));
  let interrupts = 0;
  let phase: 'starting' | 'running' | 'closing' = 'starting';
  let host: SimHost | undefined;
  const onInterrupt = () => {
    interrupts += 1;
    const commandHandles = phase === 'running' && process.listenerCount('SIGINT') > 1;
    if (interrupts < 2 && (phase !== 'running' || commandHandles)) return;
    // A job the cancel did not reach yet would run on without its files.
    host?.killCommands();
    // The host's processes may still write into it: the key first, then the rest, retried.
    for (const target of [sandboxFiles(dir).ssh, dir]) {
      try {
        fs.rmSync(target, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
      } catch {
        // Whatever a process wrote meanwhile; the key went first.
      }
    }
    process.exit(130);
  };
  process.on('SIGINT', onInterrupt);
  try {
    const running = await startSandboxServices(dir, opts);
    host = running.simHost;
    try {
      if (interrupts > 0) throw new LinusError({ code: 'CANCELLED', message: 'interrupted while the sandbox started; nothing was run' });
      phase = 'running';
      return await fn({ ...running.info, simHost: running.simHost });
    } finally {
      phase = 'closing';
      await running.close();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function writeSandboxInfo(dir: string, info: SandboxInfo): void {
  const files = sandboxFiles(dir);
  // Written whole, then renamed: `up` polls for this file and must never read half of it.
  const temp = `${files.info}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(sandboxInfoSchema.parse(info), null, 2)}\n`);
  fs.renameSync(temp, files.info);
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited process nobody has reaped yet (a zombie) is gone for our purposes.
  try {
    return !/^\d+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

// A reused pid must not pass for the daemon: check its command line where /proc exists.
function isDaemon(pid: number): boolean {
  if (!exists(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sandbox-daemon');
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readInfo(file: string): SandboxInfo | undefined {
  try {
    return sandboxInfoSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LinusError({ code: 'SANDBOX_FAILED', message: `${file} is not a valid sandbox description: ${(error as Error).message}`, cause: error });
  }
}

// `up` creates the pid file (its lock) first and the marker right after.
function isSandboxDir(dir: string): boolean {
  const files = sandboxFiles(dir);
  return fs.existsSync(files.marker) || fs.existsSync(files.pid);
}

function isFresh(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < CLAIM_GRACE_MS;
  } catch {
    return false;
  }
}

export function readSandbox(dir: string): SandboxState {
  const files = sandboxFiles(dir);
  if (!isSandboxDir(dir)) return { state: 'down' };
  const info = readInfo(files.info);
  const pid = info?.pid ?? readPid(files.pid);
  if (pid !== undefined && isDaemon(pid)) return info ? { state: 'up', info } : { state: 'starting', pid };
  // Just after the claim the pid file is empty, and just after the spawn the child may not have
  // exec'd node yet (its command line is still the parent's): both are a start in progress.
  if (info === undefined && (pid === undefined || exists(pid)) && isFresh(files.pid)) return { state: 'starting', pid };
  return { state: 'stale', pid };
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForInfo(dir: string): Promise<SandboxInfo> {
  const files = sandboxFiles(dir);
  const deadline = Date.now() + UP_TIMEOUT_MS;
  for (;;) {
    const state = readSandbox(dir);
    if (state.state === 'up') return state.info;
    if (state.state !== 'starting') {
      throw new LinusError({ code: 'SANDBOX_FAILED', message: `the sandbox daemon exited during start-up; ${files.log} says:\n${logTail(files.log)}` });
    }
    if (Date.now() > deadline) {
      throw new LinusError({ code: 'SANDBOX_FAILED', message: `the sandbox did not come up within ${UP_TIMEOUT_MS / 1000} s; ${files.log} says:\n${logTail(files.log)}` });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function claimDir(dir: string): number | undefined {
  const files = sandboxFiles(dir);
  if (fs.existsSync(files.dir) && !isSandboxDir(dir) && fs.readdirSync(files.dir).length > 0) {
    throw new LinusError({
      code: 'SANDBOX_FAILED',
      message: `${files.dir} exists and is not a linus sandbox directory`,
      remediation: 'Pass an empty or new directory with --dir (or LINUS_SANDBOX_DIR).',
    });
  }
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  let pidFd: number;
  try {
    // The exclusive create is the lock between two concurrent `up`s.
    pidFd = fs.openSync(files.pid, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  fs.writeFileSync(files.marker, "This directory belongs to a linus sandbox; 'linus sandbox down' removes it.\n");
  return pidFd;
}

// Starts the background daemon unless one is up already (then it reports that one).
export async function sandboxUp(dir: string, input: SandboxOptions = {}): Promise<{ alreadyUp: boolean; info: SandboxInfo }> {
  const options = sandboxOptionsSchema.parse(input);
  const files = sandboxFiles(dir);
  const current = readSandbox(dir);
  if (current.state === 'up') return { alreadyUp: true, info: current.info };
  if (current.state === 'stale') {
    throw new LinusError({
      code: 'SANDBOX_FAILED',
      message: `the sandbox in ${files.dir} is stale: its daemon${current.pid === undefined ? '' : ` (pid ${current.pid})`} is not running`,
      remediation: `Run 'linus sandbox down --dir ${files.dir}' to clean it up, then 'linus sandbox up' again.`,
    });
  }
  if (current.state === 'starting') return { alreadyUp: true, info: await waitForInfo(dir) };
  const entry = compiledSimFile('sandbox-daemon.js');
  const pidFd = claimDir(dir);
  if (pidFd === undefined) return { alreadyUp: true, info: await waitForInfo(dir) };
  try {
    const log = fs.openSync(files.log, 'a');
    const daemon = spawn(process.execPath, [entry, JSON.stringify({ dir: files.dir, ...options })], { detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    daemon.unref();
    if (daemon.pid === undefined) throw new LinusError({ code: 'SANDBOX_FAILED', message: `cannot start ${process.execPath} ${entry}` });
    fs.writeSync(pidFd, String(daemon.pid));
  } finally {
    fs.closeSync(pidFd);
  }
  return { alreadyUp: false, info: await waitForInfo(dir) };
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (exists(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

// After a daemon died without disposing: stop what it left (sshd, guests).
async function reapLeftovers(dir: string): Promise<void> {
  const files = sandboxFiles(dir);
  const sshdPid = readPid(path.join(files.ssh, 'sshd.pid'));
  if (sshdPid !== undefined) {
    try {
      if (fs.readFileSync(`/proc/${sshdPid}/cmdline`, 'utf8').includes(files.ssh)) process.kill(sshdPid, 'SIGTERM');
    } catch {
      // Gone already, or no /proc to check it is ours.
    }
  }
  if (fs.existsSync(simPaths(files.hostRoot).hostJson)) await openSimHost(files.hostRoot).dispose();
}

// Stops the daemon (SIGTERM; it disposes everything) and removes the directory.
export async function sandboxDown(dir: string): Promise<{ was: SandboxState['state'] }> {
  const files = sandboxFiles(dir);
  if (!fs.existsSync(files.dir)) return { was: 'down' };
  if (!isSandboxDir(dir)) {
    throw new LinusError({ code: 'SANDBOX_FAILED', message: `${files.dir} is not a linus sandbox directory; not removing it`, remediation: 'Check --dir (or LINUS_SANDBOX_DIR).' });
  }
  const current = readSandbox(dir);
  const pid = current.state === 'up' ? current.info.pid : current.state === 'down' ? undefined : current.pid;
  let disposed = false;
  if (pid !== undefined && isDaemon(pid)) {
    process.kill(pid, 'SIGTERM');
    disposed = await waitForExit(pid, DOWN_TIMEOUT_MS);
    if (!disposed) {
      // The daemon leads its own process group (detached): take sshd with it.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Exited just now.
      }
      await waitForExit(pid, DOWN_TIMEOUT_MS);
    }
  }
  if (!disposed) await reapLeftovers(dir);
  fs.rmSync(files.dir, { recursive: true, force: true });
  return { was: current.state };
}

// The linus flags that reach the sandbox, in order.
export function sandboxFlags(info: SandboxInfo): Array<[flag: string, value: string]> {
  return [
    ['--host', info.host],
    ['--port', String(info.port)],
    ['--user', info.user],
    ['--identity', info.identityFile],
    ['--known-hosts', info.knownHostsFile],
    ['--node', info.node],
    ['--storage', info.storage],
    ['--bridge', info.bridge],
    ['--remote-dir', info.remoteDir],
    ['--image-url', info.imageUrl],
    ['--image-sha256', info.imageSha256],
  ];
}

// The same as LINUS_* environment variables (flag name upper-cased).
export function sandboxEnv(info: SandboxInfo): Record<string, string> {
  return Object.fromEntries(sandboxFlags(info).map(([flag, value]) => [`LINUS_${flag.slice(2).replaceAll('-', '_').toUpperCase()}`, value]));
}

// A plain OpenSSH command line that runs `command` on the sandbox host.
export function sandboxSshCommand(info: SandboxInfo, command = 'qm list'): string {
  const words = ['ssh', '-p', String(info.port), '-i', info.identityFile, '-o', `UserKnownHostsFile=${info.knownHostsFile}`, '-o', 'IdentitiesOnly=yes', `${info.user}@${info.host}`];
  return `${words.map(shellQuote).join(' ')} ${command}`;
}
