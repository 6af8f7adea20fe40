import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { withSettings, type HostSettingsSource } from '../../src/sim/settings.js';
import { startSandboxServices, type RunningSandbox, type SandboxOptions } from '../../src/sim/sandbox.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');

// An empty user config directory, so that a developer's own ~/.config/linus profiles never reach
// a test (a test that wants one passes XDG_CONFIG_HOME).
const NO_USER_CONFIG = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-no-config-'));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json: () => Record<string, any>;
}

export interface CliRun {
  child: ChildProcess;
  result: Promise<CliResult>;
  // Resolves once stderr has shown a line matching the pattern.
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  // What the process wrote to stderr so far.
  stderrText(): string;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CONFIG_HOME: NO_USER_CONFIG, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  });
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> }));
  });
  return {
    child,
    result,
    stderrText: () => stderr,
    waitForStderr: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stderr)) return resolve();
        const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}:\n${stderr}`)), timeoutMs);
        watchers.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

// The CLI as a child process: for what only the process boundary shows (signals, exit status,
// what reaches the real stdout).
export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).result;
}

// The CLI in this process (main(argv, io)), with the environment a spawned one would get: what
// it writes, its exit code. No terminal, no stdin, no Ctrl-C.
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let exited: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const io: CliIo = {
    stdout: { write: (text) => void (stdout += text) },
    stderr: { write: (text) => void (stderr += text) },
    stdin: Readable.from([]),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CONFIG_HOME: NO_USER_CONFIG, ...env },
    onInterrupt: () => () => undefined,
    exit: (code) => exited(code),
  };
  const code = await Promise.race([main(args, io), exit]);
  return { code, signal: null, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> };
}

// Runs a command on the target's simulated node directly (test set-up, not what is under test);
// its stdout, or an error naming the command with its stderr.
export function onHost(target: Target, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(target.simHost.hostShell(), ['-c', command], (error, stdout, stderr) => (error ? reject(new Error(`${command}: ${stderr}`)) : resolve(stdout)));
  });
}

export interface Target extends RunningSandbox {
  dir: string;
  flags(overrides?: Record<string, string>): string[];
  vmFlags(name: string): string[];
  dispose(): Promise<void>;
}

// A simulated host behind a real SSH endpoint, with short boot, agent install and agent timeouts,
// and a clock 10x faster for the provisioner's poll intervals, for speed.
export async function startTarget(options: SandboxOptions = {}, settings: HostSettingsSource = {}): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-driver-'));
  const running = await startSandboxServices(dir, options, withSettings(settings, (host) => ({ clockScale: 0.1, bootDelayMs: 300, agentPingTimeoutMs: 300, agentInstallDelayMs: 500, ...host })));
  const { info } = running;
  return {
    ...running,
    dir,
    // The sandbox's node, storage and bridge are linus' defaults (pve, local-lvm, vmbr0), and only
    // the commands that place VMs take those flags: overrides add them where a test needs them.
    flags: (overrides = {}) => {
      const base: Record<string, string> = {
        host: info.host,
        port: String(info.port),
        user: info.user,
        identity: info.identityFile,
        'known-hosts': info.knownHostsFile,
        'remote-dir': info.remoteDir,
        ...overrides,
      };
      return Object.entries(base).flatMap(([key, value]) => [`--${key}`, value]);
    },
    vmFlags: (name) => ['--name', name, '--ssh-key', `${info.identityFile}.pub`, '--image-url', info.imageUrl, '--image-sha256', info.imageSha256],
    dispose: async () => {
      await running.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// What a failed or interrupted provision must not leave behind.
export function leftovers(target: Target): { vms: number[]; volumes: string[]; locks: string[]; runningJobs: string[] } {
  const jobsDir = path.join(target.info.remoteDir, 'jobs');
  const runningJobs = fs.existsSync(jobsDir)
    ? fs.readdirSync(jobsDir).filter((id) => {
        const pidFile = path.join(jobsDir, id, 'pid');
        if (!fs.existsSync(pidFile)) return false;
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 0);
          return true;
        } catch {
          return false;
        }
      })
    : [];
  return {
    vms: target.simHost.listVms().map((vm) => vm.vmid),
    volumes: target.simHost.volumes().map((volume) => volume.volid),
    locks: target.simHost.locks(),
    runningJobs,
  };
}

// The job process exits just after writing its final block: give it a moment, no more.
export async function settledLeftovers(target: Target, timeoutMs = 3000): Promise<ReturnType<typeof leftovers>> {
  const deadline = Date.now() + timeoutMs;
  let state = leftovers(target);
  while (state.runningJobs.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = leftovers(target);
  }
  return state;
}

// A TCP relay whose connections the test can cut, to drop the SSH session mid-run.
export async function startRelay(port: number): Promise<{ port: number; cut(): void; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((client) => {
    count += 1;
    const upstream = net.createConnection({ host: '127.0.0.1', port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}
