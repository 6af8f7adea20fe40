import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SimHost } from '../../src/sim/host.js';
import { encodeGuestImage, IMAGE_CATALOG } from '../../src/sim/guest-image.js';
import { writeQcow2 } from '../../src/sim/qcow2.js';

export interface LocalRunner {
  name: 'local';
  exec(cmd: string): Promise<{ stdout: string; stderr: string; code: number }>;
  close(): Promise<void>;
}

// Runs a command as on the simulated node without SSH: `host-shell -c cmd`.
export function localRunner(host: SimHost, node?: string): LocalRunner {
  const shell = host.hostShell(node);
  return {
    name: 'local',
    exec: (cmd) =>
      new Promise((resolve) => {
        execFile(shell, ['-c', cmd], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 255) : 0;
          resolve({ stdout, stderr, code });
        });
      }),
    close: async () => undefined,
  };
}

// Shared inputs for the simulator suites: the image server's Ubuntu 24.04 image (2252 MiB, no
// guest agent), its Rocky 9 image (10 GiB, ships the agent, needs x86-64-v2), and an SSH public key file.
export function fixtureDir(): { dir: string; image: string; agentImage: string; pubkey: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sim-fixture-'));
  const image = path.join(dir, 'noble.qcow2');
  const agentImage = path.join(dir, 'rocky.qcow2');
  for (const [file, os] of [[image, 'ubuntu-24.04'], [agentImage, 'rocky-9']] as const) {
    const entry = IMAGE_CATALOG.find((candidate) => candidate.os === os);
    if (!entry) throw new Error(`no ${os} in the image catalog`);
    writeQcow2(file, entry.virtualSize, encodeGuestImage(entry.guest));
  }
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'user@host', '-f', key]);
  return { dir, image, agentImage, pubkey: `${key}.pub` };
}

// The guest's port: 22 as on a real guest when we may bind it, else an unprivileged one.
export const GUEST_SSH_PORT = process.getuid?.() === 0 ? 22 : 2222;

export function readBanner(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host, port });
    let data = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
