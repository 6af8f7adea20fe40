import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestPidFile, guestQgaSocket, guestRecordFile, readGuestRecord, runningPid, type GuestRecord } from './guest-record.js';
import { removeNeighbour } from './neighbour.js';
import type { SimPaths } from './paths.js';
import { sleep, survive } from './tools/caller.js';

const DAEMON = path.join(path.dirname(fileURLToPath(import.meta.url)), 'guest-daemon.js');

// Starts the guest daemon detached, with the environment of the `qm start` that starts it, and
// waits for its "ready" (or its bind error), so a guest that cannot take its address fails
// `qm start` instead of failing silently later.
export async function spawnGuest(paths: SimPaths, record: GuestRecord, env: Record<string, string>): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  fs.mkdirSync(path.dirname(guestRecordFile(paths, record.vmid)), { recursive: true });
  fs.mkdirSync(paths.runDir, { recursive: true });
  fs.writeFileSync(guestRecordFile(paths, record.vmid), `${JSON.stringify(record)}\n`);
  const child = spawn(process.execPath, [DAEMON, paths.root, String(record.vmid)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env,
  });
  const ready = new Promise<string>((resolve) => {
    let buffer = '';
    const timer = setTimeout(() => resolve('error ETIMEDOUT guest did not start within 10 s'), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(buffer.slice(0, newline));
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(buffer.includes('\n') ? buffer.slice(0, buffer.indexOf('\n')) : 'error EEXIT guest exited during start');
    });
  });
  const line = await survive(ready);
  child.stdout.destroy();
  child.unref();
  if (line === 'ready') {
    fs.writeFileSync(guestRecordFile(paths, record.vmid), `${JSON.stringify({ ...record, pid: child.pid })}\n`);
    return { ok: true };
  }
  const match = /^error (\S+) (.*)$/.exec(line);
  return { ok: false, code: match?.[1] ?? 'EFAIL', message: match?.[2] ?? line };
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

// Stops the guest (QMP quit → SIGTERM → SIGKILL) and removes its runtime files (vm_stop_cleanup).
export async function stopGuest(paths: SimPaths, vmid: number): Promise<void> {
  const pid = runningPid(paths, vmid);
  const record = readGuestRecord(paths, vmid);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    if (!(await waitGone(pid, 5000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await waitGone(pid, 2000);
    }
  }
  fs.rmSync(guestPidFile(paths, vmid), { force: true });
  fs.rmSync(guestQgaSocket(paths, vmid), { force: true });
  fs.rmSync(guestRecordFile(paths, vmid), { force: true });
  if (record?.ip) await removeNeighbour(paths, record.ip);
}
