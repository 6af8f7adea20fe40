import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { foreignRecordFile, GuestNetwork, reportStartFailure } from './guest-network.js';
import { inNetwork } from './lan.js';
import { compiledSimFile, simPaths, type SimPaths } from './paths.js';
import { hostSettingsSchema, type HostSettings } from './settings.js';

// A machine on a node's LAN that is not a VM of the cluster (a laptop, a printer, another
// hypervisor's guest) holding an address: it answers ARP and, if asked, SSH there (§15.14).
// One detached process per machine (`foreign.js <root> <ip>`), recorded in sim/foreign/<ip>.json.
export const foreignMachineSchema = z
  .object({
    ip: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/),
    mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
    ssh: z.boolean(),
    pid: z.number().int().optional(),
  })
  .strict();
export type ForeignMachine = z.infer<typeof foreignMachineSchema>;

const FOREIGN_BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n';

export function foreignAddresses(paths: SimPaths): Set<string> {
  const dir = path.join(paths.sim, 'foreign');
  if (!fs.existsSync(dir)) return new Set();
  return new Set(fs.readdirSync(dir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length)));
}

function readForeign(paths: SimPaths, ip: string): ForeignMachine | undefined {
  try {
    return foreignMachineSchema.parse(JSON.parse(fs.readFileSync(foreignRecordFile(paths, ip), 'utf8')));
  } catch {
    return undefined;
  }
}

function readSettings(paths: SimPaths): HostSettings {
  return hostSettingsSchema.parse(JSON.parse(fs.readFileSync(paths.hostJson, 'utf8')));
}

// The network of the first node's bridges or VLANs that holds <ip>: its device and the node's cidr there.
function placeOnLan(settings: HostSettings, ip: string): { device: string; hostCidr?: string } {
  for (const bridge of settings.nodes[0]?.bridges ?? []) {
    for (const [device, lan] of [[bridge.name, bridge] as const, ...bridge.vlans.map((vlan) => [`${bridge.name}.${vlan.tag}`, vlan] as const)]) {
      if (!inNetwork(ip, lan.network)) continue;
      const prefix = lan.network.split('/')[1] as string;
      return { device, ...(lan.hostAddress === undefined ? {} : { hostCidr: `${lan.hostAddress}/${prefix}` }) };
    }
  }
  return { device: 'vmbr0' };
}

export async function startForeignMachine(paths: SimPaths, input: { ip: string; mac?: string; ssh?: boolean }): Promise<ForeignMachine> {
  const mac = input.mac ?? `00:16:3e:${crypto.randomBytes(3).toString('hex').replace(/(..)(?!$)/g, '$1:')}`;
  const machine = foreignMachineSchema.parse({ ip: input.ip, mac, ssh: input.ssh ?? true });
  fs.mkdirSync(path.dirname(foreignRecordFile(paths, machine.ip)), { recursive: true });
  fs.writeFileSync(foreignRecordFile(paths, machine.ip), `${JSON.stringify(machine)}\n`);
  const child = spawn(process.execPath, [compiledSimFile('foreign.js'), paths.root, machine.ip], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.includes('\n')) resolve(buffer.slice(0, buffer.indexOf('\n')));
    });
    child.on('exit', () => resolve(buffer.split('\n')[0] || 'error EEXIT exited during start'));
  });
  child.stdout.destroy();
  child.unref();
  if (line !== 'ready') {
    fs.rmSync(foreignRecordFile(paths, machine.ip), { force: true });
    throw new Error(`foreign machine ${machine.ip} did not start: ${line}`);
  }
  const started = { ...machine, pid: child.pid as number };
  fs.writeFileSync(foreignRecordFile(paths, machine.ip), `${JSON.stringify(started)}\n`);
  return started;
}

export async function stopForeignMachines(paths: SimPaths): Promise<void> {
  for (const ip of foreignAddresses(paths)) {
    const machine = readForeign(paths, ip);
    fs.rmSync(foreignRecordFile(paths, ip), { force: true });
    if (machine?.pid === undefined) continue;
    try {
      process.kill(machine.pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
}

async function main(): Promise<void> {
  const [root, ip] = process.argv.slice(2);
  if (!root || !ip) throw new Error('usage: foreign <root> <ip>');
  const paths = simPaths(root);
  const machine = readForeign(paths, ip);
  if (!machine) throw new Error(`no record for foreign machine ${ip}`);
  const settings = readSettings(paths);
  const network = new GuestNetwork(paths, { ip, mac: machine.mac, ...placeOnLan(settings, ip) }, { sshPort: settings.guestSshPort, probePort: settings.guestProbePort, sshBanner: machine.ssh ? FOREIGN_BANNER : undefined });
  await network.up();
  const stop = async () => {
    await network.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // Gone with its record or its root, and never older than a test run.
  const startedAt = Date.now();
  setInterval(() => {
    if (!fs.existsSync(foreignRecordFile(paths, ip)) || Date.now() - startedAt > 2 * 60 * 60 * 1000) void stop();
  }, 500);
  process.stdout.write('ready\n');
}

if (process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main().catch(reportStartFailure);
