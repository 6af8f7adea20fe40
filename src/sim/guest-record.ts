import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { guestImageSchema } from './guest-image.js';
import type { SimPaths } from './paths.js';
import { processAlive } from './tools/caller.js';

// What `qm start` tells its guest (sim/guests/<vmid>.json), with the guest process's pid once it runs.
export const guestRecordSchema = z
  .object({
    vmid: z.number().int(),
    node: z.string(),
    startedAt: z.number(),
    bootDelayMs: z.number().int().nonnegative(),
    // The NIC (net0): lowercase MAC, the network's device (`vmbr0`, `vmbr0.42`, a VNet), the
    // IPv4 address/prefix and gateway the guest will use, and the node's own address there.
    mac: z.string().optional(),
    bridge: z.string().optional(),
    ip: z.string().optional(),
    prefix: z.number().int().optional(),
    gateway: z.string().optional(),
    // The node's own address and prefix on the guest's network, if it has one there: only then
    // can the node resolve the guest's address (and fill its neighbour table).
    hostCidr: z.string().optional(),
    // What the boot disk holds, whether that system comes up on this CPU type, and when its
    // guest agent answers (ms after start; absent: never). See guest-plan.ts.
    image: guestImageSchema.optional(),
    boots: z.boolean(),
    agentAfterMs: z.number().int().nonnegative().optional(),
    probePort: z.number().int(),
    sshPort: z.number().int(),
    pid: z.number().int().optional(),
  })
  .strict();
export type GuestRecord = z.infer<typeof guestRecordSchema>;

// Where a guest's runtime files are.
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

export function readGuestRecord(paths: SimPaths, vmid: number): GuestRecord | undefined {
  try {
    return guestRecordSchema.parse(JSON.parse(fs.readFileSync(guestRecordFile(paths, vmid), 'utf8')));
  } catch {
    return undefined;
  }
}

export function guestUptimeSeconds(paths: SimPaths, vmid: number): number {
  const record = readGuestRecord(paths, vmid);
  return record ? Math.max(0, Math.floor((Date.now() - record.startedAt) / 1000)) : 0;
}
