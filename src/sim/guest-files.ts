import fs from 'node:fs';
import path from 'node:path';
import type { SimPaths } from './paths.js';

// Where a guest's runtime files are, and whether its process runs: what the guest daemon needs
// too, without the record's schema (zod costs the daemon about 60 ms of CPU at every start).
export const guestRecordFile = (paths: SimPaths, vmid: number) => path.join(paths.guestsDir, `${vmid}.json`);
export const guestPidFile = (paths: SimPaths, vmid: number) => path.join(paths.runDir, `${vmid}.pid`);
export const guestQgaSocket = (paths: SimPaths, vmid: number) => path.join(paths.runDir, `${vmid}.qga`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// The guest's "QEMU" process, if it runs: the pid file names a live process.
export function runningPid(paths: SimPaths, vmid: number): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(guestPidFile(paths, vmid), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
