import fs from 'node:fs';
import path from 'node:path';
import type { SimPaths } from './paths.js';
import { processAlive } from './tools/caller.js';

// Where a guest's runtime files are, and whether its process runs.
export const guestRecordFile = (paths: SimPaths, vmid: number) => path.join(paths.guestsDir, `${vmid}.json`);
export const guestPidFile = (paths: SimPaths, vmid: number) => path.join(paths.runDir, `${vmid}.pid`);
export const guestQgaSocket = (paths: SimPaths, vmid: number) => path.join(paths.runDir, `${vmid}.qga`);

// The guest's "QEMU" process, if it runs: the pid file names a live process (not a zombie: a guest
// whose tool server died is reaped by init, some time after it ended).
export function runningPid(paths: SimPaths, vmid: number): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(guestPidFile(paths, vmid), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
