import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { withFileLock } from './tools/file-lock.js';
import type { SimPaths } from './paths.js';

// The bridge's DHCP server: one lease per MAC (lowercase) from the bridge's loopback /16, stable
// across restarts (sim/leases.json).
const leasesSchema = z.record(z.string(), z.string());

export async function leaseFor(paths: SimPaths, mac: string, dhcpPrefix: string): Promise<string> {
  const key = mac.toLowerCase();
  const lock = path.join(paths.sim, 'leases.lock');
  return withFileLock(lock, { timeoutMs: 10_000, shownPath: lock, err: () => undefined }, () => {
    let leases: Record<string, string> = {};
    try {
      leases = leasesSchema.parse(JSON.parse(fs.readFileSync(paths.leasesJson, 'utf8')));
    } catch {
      leases = {};
    }
    const existing = leases[key];
    if (existing?.startsWith(`${dhcpPrefix}.`)) return existing;
    const taken = new Set(Object.values(leases));
    const seed = crypto.createHash('sha256').update(key).digest().readUInt16BE(0);
    for (let i = 0; i < 65536; i += 1) {
      const n = (seed + i) % 65536;
      const third = n >> 8;
      const fourth = n & 0xff;
      if (fourth === 0 || fourth === 255 || (third === 0 && fourth === 1)) continue;
      const ip = `${dhcpPrefix}.${third}.${fourth}`;
      if (taken.has(ip)) continue;
      leases[key] = ip;
      fs.writeFileSync(`${paths.leasesJson}.tmp`, `${JSON.stringify(leases, null, 2)}\n`);
      fs.renameSync(`${paths.leasesJson}.tmp`, paths.leasesJson);
      return ip;
    }
    throw new Error(`no free address in ${dhcpPrefix}.0.0/16`);
  });
}
