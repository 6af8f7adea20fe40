import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { createSimHost } from '../../src/sim/host.js';
import { sshFingerprintOfBlob, startSshEndpoint, type SshEndpoint } from '../../src/sim/ssh-endpoint.js';
import { startSshd } from '../../src/sim/sshd.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  // 255 when the command died of a signal, as the OpenSSH client reports it.
  code: number;
}

export interface SshRunner {
  name: 'embedded' | 'sshd';
  exec(cmd: string): Promise<ExecResult>;
  close(): Promise<void>;
  endpoint: SshEndpoint;
}

// A SimHost, or anything with its host shell and root.
export interface RunnerHost {
  hostShell(node?: string): string;
  root: string;
  // Root's home on the host: the login shell sshd starts reads its .bashrc.
  paths: { home: string };
}

function endpointDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `linus-${name}-`));
}

// An ssh2 client logged in to the endpoint with its generated key, verifying the host key by
// fingerprint; options replace any of that (another key, a password).
export function connectClient(endpoint: SshEndpoint, options: Partial<ssh2.ConnectConfig> = {}): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client));
    client.once('error', (error) => {
      client.end();
      reject(error);
    });
    client.connect({
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      privateKey: fs.readFileSync(endpoint.identityFile),
      hostVerifier: (key: Buffer) => sshFingerprintOfBlob(key) === endpoint.hostKeyFingerprint,
      ...options,
    });
  });
}

export function execOverClient(client: ssh2.Client, cmd: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (error, stream) => {
      if (error) return reject(error);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let code = 255;
      stream.on('data', (chunk: Buffer) => stdout.push(chunk));
      stream.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      stream.on('exit', (exitCode: number | null) => {
        if (typeof exitCode === 'number') code = exitCode;
      });
      stream.on('close', () => resolve({ stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), code }));
      // No stdin, like `ssh -n`: commands that read it see EOF.
      stream.end();
    });
  });
}

// The ssh2 client against the embedded endpoint, verifying the host key by fingerprint.
export async function embeddedRunner(host: RunnerHost): Promise<SshRunner> {
  const dir = endpointDir('embedded');
  const endpoint = await startSshEndpoint({ hostShell: host.hostShell(), dir });
  let client: ssh2.Client;
  try {
    client = await connectClient(endpoint);
  } catch (error) {
    await endpoint.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name: 'embedded',
    endpoint,
    exec: (cmd) => execOverClient(client, cmd),
    async close() {
      client.end();
      await endpoint.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function sshArgs(endpoint: SshEndpoint): string[] {
  return [
    '-F', 'none',
    '-p', String(endpoint.port),
    '-i', endpoint.identityFile,
    '-o', `UserKnownHostsFile=${endpoint.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    `${endpoint.user}@${endpoint.host}`,
  ];
}

// The real OpenSSH client against a real sshd (ForceCommand is the host shell).
export async function sshdRunner(host: RunnerHost): Promise<SshRunner> {
  const dir = endpointDir('sshd');
  const endpoint = await startSshd({ hostShell: host.hostShell(), home: host.paths.home, dir });
  return {
    name: 'sshd',
    endpoint,
    async exec(cmd) {
      const result = await execa('ssh', [...sshArgs(endpoint), cmd], { reject: false, stdin: 'ignore', stripFinalNewline: false });
      return { stdout: result.stdout, stderr: result.stderr, code: result.exitCode ?? 255 };
    },
    async close() {
      await endpoint.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs one command through a runner in front of a fresh simulated host, then closes both.
export async function execOnSimHost(
  makeRunner: (host: RunnerHost) => Promise<SshRunner>,
  options: Parameters<typeof createSimHost>[0],
  cmd: string,
): Promise<{ name: SshRunner['name']; result: ExecResult }> {
  const host = await createSimHost(options);
  try {
    const runner = await makeRunner(host);
    try {
      return { name: runner.name, result: await runner.exec(cmd) };
    } finally {
      await runner.close();
    }
  } finally {
    await host.dispose();
  }
}

// A stand-in for the simulated host's login shell, for transport tests that need no sim tools:
// like host-shell, it runs `-c CMD`, or $SSH_ORIGINAL_COMMAND as an sshd ForceCommand.
export function writeStandInHostShell(dir: string): RunnerHost {
  const shell = path.join(dir, 'host-shell');
  const script = `#!/bin/bash
cd "$(dirname "$0")" || exit 1
export SIM_MARK=host-shell
if [[ "\${1:-}" == "-c" ]]; then exec bash -c "\${2:-}"; fi
exec bash --norc -c "\${SSH_ORIGINAL_COMMAND:-exit 64}"
`;
  fs.writeFileSync(shell, script, { mode: 0o755 });
  return { root: dir, paths: { home: dir }, hostShell: () => shell };
}
