import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { foreignAddresses } from './foreign.js';
import { inNetwork, poolOf, type Lan } from './lan.js';
import { withFileLock } from './tools/file-lock.js';
import type { SimPaths } from './paths.js';

// The network's DHCP server: one lease per MAC (lowercase) from the network's pool, stable across
// restarts (sim/leases.json). A full pool takes back the leases of MACs no VM holds any more, as
// leases expire on a real server.
const leasesSchema = z.record(z.string(), z.string());

export async function leaseFor(paths: SimPaths, mac: string, lan: Lan, activeMacs: () => Set<string>): Promise<string> {
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
    if (existing !== undefined && inNetwork(existing, lan.network)) return existing;
    const pool = poolOf(lan);
    const seed = crypto.createHash('sha256').update(key).digest().readUInt32BE(0);
    const pick = (): string | undefined => {
      const taken = new Set([...Object.values(leases), ...foreignAddresses(paths)]);
      for (let i = 0; i < pool.length; i += 1) {
        const ip = pool[(seed + i) % pool.length] as string;
        if (!taken.has(ip)) return ip;
      }
      return undefined;
    };
    let ip = pick();
    if (ip === undefined) {
      const active = activeMacs();
      leases = Object.fromEntries(Object.entries(leases).filter(([holder]) => active.has(holder)));
      ip = pick();
    }
    if (ip === undefined) throw new Error(`no free address in ${lan.network}`);
    leases[key] = ip;
    fs.writeFileSync(`${paths.leasesJson}.tmp`, `${JSON.stringify(leases, null, 2)}\n`);
    fs.renameSync(`${paths.leasesJson}.tmp`, paths.leasesJson);
    return ip;
  });
}
