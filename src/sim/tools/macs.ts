import crypto from 'node:crypto';
import { parseNet, printNet } from './property-string.js';

// Tools.pm `random_ether_addr` with the Proxmox OUI BC:24:11: uppercase hex.
export function randomMac(): string {
  const bytes = crypto.randomBytes(3);
  return `BC:24:11:${Array.from(bytes, (byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(':')}`;
}

// Network.pm `add_random_macs`: every netN gets a MAC and is re-printed (model=MAC first).
export function addRandomMacs(params: Record<string, string>): void {
  for (const key of Object.keys(params)) {
    if (!/^net\d+$/.test(key)) continue;
    const nic = parseNet(params[key] as string);
    if (!nic) continue;
    nic.mac ??= randomMac();
    params[key] = printNet(nic);
  }
}
