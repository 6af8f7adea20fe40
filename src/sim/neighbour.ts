import fs from 'node:fs';
import path from 'node:path';
import { withFileLock } from './tools/file-lock.js';
import type { SimPaths } from './paths.js';

// The host's /proc/net/arp, as the kernel prints it (`arp_format_neigh_entry`).
export const ARP_HEADER = 'IP address       HW type     Flags       HW address            Mask     Device\n';

export function arpLine(ip: string, mac: string, device: string): string {
  return `${ip.padEnd(16)} 0x1         0x2         ${mac.padEnd(17)}     *        ${device}\n`;
}

async function edit(paths: SimPaths, change: (lines: string[]) => string[]): Promise<void> {
  const lock = path.join(paths.sim, 'arp.lock');
  await withFileLock(lock, { timeoutMs: 10_000, shownPath: lock, err: () => undefined }, () => {
    let raw = ARP_HEADER;
    try {
      raw = fs.readFileSync(paths.neighTable, 'utf8');
    } catch {
      // A missing table is rewritten with its header.
    }
    const [, ...entries] = raw.split('\n').filter((line) => line !== '');
    const next = change(entries);
    const tmp = `${paths.neighTable}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, ARP_HEADER + next.map((line) => `${line}\n`).join(''));
    fs.renameSync(tmp, paths.neighTable);
  });
}

export function addNeighbour(paths: SimPaths, ip: string, mac: string, device: string): Promise<void> {
  return edit(paths, (lines) => [...lines.filter((line) => line.split(/\s+/)[0] !== ip), arpLine(ip, mac, device).trimEnd()]);
}

export function removeNeighbour(paths: SimPaths, ip: string): Promise<void> {
  return edit(paths, (lines) => lines.filter((line) => line.split(/\s+/)[0] !== ip));
}
