import fs from 'node:fs';
import path from 'node:path';
import { guestPidFile, guestQgaSocket, guestRecordFile, readGuestRecord, runningPid, type GuestRecord } from './guest-record.js';
import { removeNeighbour } from './neighbour.js';
import type { SimPaths } from './paths.js';
import { startGuest, stopOwnGuest } from './guest-runtime.js';
import { processAlive, sleep, survive } from './tools/caller.js';

// Starts the guest (guest-runtime.ts) with the environment of the `qm start` that starts it and
// waits until it runs, so a guest that cannot take its address fails `qm start` instead of
// failing silently later.
export async function spawnGuest(paths: SimPaths, record: GuestRecord, env: Record<string, string>): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  fs.mkdirSync(path.dirname(guestRecordFile(paths, record.vmid)), { recursive: true });
  fs.mkdirSync(paths.runDir, { recursive: true });
  fs.writeFileSync(guestRecordFile(paths, record.vmid), `${JSON.stringify(record)}\n`);
  const started = await survive(startGuest(paths, record, env));
  if (!started.ok) return started;
  fs.writeFileSync(guestRecordFile(paths, record.vmid), `${JSON.stringify({ ...record, pid: started.pid })}\n`);
  return { ok: true };
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!processAlive(pid)) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

// Stops the guest (QMP quit → SIGTERM → SIGKILL) and removes its runtime files (vm_stop_cleanup).
export async function stopGuest(paths: SimPaths, vmid: number): Promise<void> {
  const pid = runningPid(paths, vmid);
  const record = readGuestRecord(paths, vmid);
  if (pid !== undefined && !(await stopOwnGuest(pid))) {
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
