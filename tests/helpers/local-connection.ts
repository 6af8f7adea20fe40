import { spawn } from 'node:child_process';
import type { Connect } from '../../src/host/run.js';
import type { SimHost } from '../../src/sim/host.js';
import type { Connection, ExecResult } from '../../src/ssh/connection.js';

// An in-process stand-in for an SSH connection to the simulated host: each exec runs
// `host-shell -c CMD` on the node the target's host names (nodes[host], else the first node),
// streaming its output as ssh2 would; an abort sends INT as OpenSSH does.
export function localConnect(host: SimHost, nodes: Record<string, string> = {}): Connect & { opened: () => number } {
  let opened = 0;
  const connect = async (target: { host: string }): Promise<Connection> => {
    opened += 1;
    const shell = host.hostShell(nodes[target.host]);
    let close: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (close = resolve));
    return {
      hostKeyFingerprint: 'SHA256:local',
      closed,
      close: async () => close(),
      exec: (command, options = {}) =>
        new Promise<ExecResult>((resolve) => {
          const child = spawn(shell, ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          const abort = () => child.kill('SIGINT');
          options.signal?.addEventListener('abort', abort, { once: true });
          child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            options.onStdout?.(chunk.toString());
          });
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            options.onStderr?.(chunk.toString());
          });
          child.on('close', (code, signal) => {
            options.signal?.removeEventListener('abort', abort);
            resolve({ code, ...(signal ? { signal } : {}), stdout, stderr });
          });
        }),
    };
  };
  return Object.assign(connect, { opened: () => opened });
}

// The SshTarget coordinators are given: only its host matters to localConnect.
export function localTarget(host = 'pve'): { host: string; port: number; user: string; knownHostsFiles: string[] } {
  return { host, port: 22, user: 'root', knownHostsFiles: [] };
}
