import fs from 'node:fs';
import net from 'node:net';
import { parseVmConfig } from './tools/config-format.js';
import { faultsSchema, type Faults } from './faults.js';
import { agentAnswer } from './guest-agent.js';
import { guestPidFile, guestQgaSocket, readGuestRecord, type GuestRecord } from './guest-record.js';
import { addNeighbour, removeNeighbour } from './neighbour.js';
import { simPaths, type SimPaths } from './paths.js';
import { parsePropertyString } from './tools/property-string.js';

// The simulated guest: one detached process per running VM (`main.js <root> <vmid>`), standing in
// for QEMU. It serves the guest agent on var/run/qemu-server/<vmid>.qga, and once "booted" an SSH
// banner on <ip>:<port> and a neighbour entry. It exits on SIGTERM (qm stop), when its pid file or
// root disappears, or after MAX_LIFETIME_MS so it can never outlive a test run.
const MAX_LIFETIME_MS = 2 * 60 * 60 * 1000;
export const SSH_BANNER = 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n';

function readFaults(paths: SimPaths): Faults {
  try {
    return faultsSchema.parse(JSON.parse(fs.readFileSync(paths.faultsJson, 'utf8')));
  } catch {
    return {};
  }
}

function agentEnabled(paths: SimPaths, record: GuestRecord): boolean {
  try {
    const config = parseVmConfig(fs.readFileSync(paths.vmConfig(record.node, record.vmid), 'utf8'));
    const agent = config.values.agent;
    if (agent === undefined) return false;
    const parsed = parsePropertyString(agent);
    const enabled = parsed.keys.enabled ?? parsed.head ?? '0';
    return /^(1|on|yes|true)$/i.test(enabled);
  } catch {
    return false;
  }
}

// Set once the guest has "booted": its sshd listens and it shows in the neighbour table.
let booted = false;

function agentReady(paths: SimPaths, record: GuestRecord): boolean {
  const fault = readFaults(paths).agent;
  if (fault === 'never' || !booted) return false;
  return Date.now() >= record.startedAt + (fault?.delayMs ?? 0) && agentEnabled(paths, record);
}

function serveAgent(paths: SimPaths, record: GuestRecord, hostname: string): net.Server {
  return net.createServer((socket) => {
    let buffer = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let request: { execute?: string };
        try {
          request = JSON.parse(line) as { execute?: string };
        } catch {
          continue;
        }
        // An agent that is not up yet (or disabled) simply never answers.
        if (!agentReady(paths, record)) continue;
        const command = request.execute ?? '';
        const result = agentAnswer(command, record, hostname);
        const reply = result === undefined ? { error: { class: 'CommandNotFound', desc: `The command ${command} has not been found` } } : { return: result };
        socket.write(`${JSON.stringify(reply)}\n`);
        if (command === 'guest-shutdown') setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);
      }
    });
  });
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const [root, vmidText] = process.argv.slice(2);
  if (!root || !vmidText) throw new Error('usage: guest-daemon <root> <vmid>');
  const paths = simPaths(root);
  const vmid = Number(vmidText);
  const record = readGuestRecord(paths, vmid);
  if (!record) throw new Error(`no guest record for VM ${vmid}`);
  const hostname = (() => {
    try {
      return parseVmConfig(fs.readFileSync(paths.vmConfig(record.node, vmid), 'utf8')).values.name ?? `VM${vmid}`;
    } catch {
      return `VM${vmid}`;
    }
  })();
  const sshOnLoopback = record.ip !== undefined && record.ip.startsWith('127.');

  // Fail now, while `qm start` waits, if the guest's address:port is taken: later would be silent.
  if (sshOnLoopback && readFaults(paths).guestSsh !== 'never') {
    const probe = net.createServer();
    await listen(probe, record.sshPort, record.ip as string);
    await new Promise((resolve) => probe.close(resolve));
  }

  const qgaPath = guestQgaSocket(paths, vmid);
  fs.rmSync(qgaPath, { force: true });
  const qga = serveAgent(paths, record, hostname);
  await new Promise<void>((resolve, reject) => {
    qga.once('error', reject);
    qga.listen(qgaPath, () => resolve());
  });
  const pidFile = guestPidFile(paths, vmid);
  fs.writeFileSync(pidFile, `${process.pid}\n`);

  let ssh: net.Server | undefined;
  let neighbourAdded = false;
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    ssh?.close();
    qga.close();
    try {
      if (neighbourAdded && record.ip && fs.existsSync(paths.root)) await removeNeighbour(paths, record.ip);
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile, { force: true });
      fs.rmSync(qgaPath, { force: true });
    } catch {
      // The root may be gone already.
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));

  const boot = setTimeout(() => {
    void (async () => {
      const faults = readFaults(paths);
      if (sshOnLoopback && faults.guestSsh !== 'never') {
        ssh = net.createServer((socket) => {
          socket.on('error', () => undefined);
          socket.end(SSH_BANNER);
        });
        try {
          await listen(ssh, record.sshPort, record.ip as string);
        } catch {
          // Someone took the port between the probe and boot: the guest's sshd just isn't reachable.
          ssh = undefined;
        }
      }
      if (record.ip && record.mac && record.bridge && faults.neighbour !== false) {
        await addNeighbour(paths, record.ip, record.mac, record.bridge);
        neighbourAdded = true;
      }
      booted = true;
    })();
  }, record.bootDelayMs);
  boot.unref();

  const startedAt = Date.now();
  setInterval(() => {
    let ours = false;
    try {
      ours = fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid);
    } catch {
      ours = false;
    }
    if (!ours || !fs.existsSync(paths.root) || Date.now() - startedAt > MAX_LIFETIME_MS) void exit(0);
  }, 500);

  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  const err = error as NodeJS.ErrnoException;
  try {
    process.stdout.write(`error ${err.code ?? 'EFAIL'} ${err.message ?? String(error)}\n`);
  } catch {
    // Nobody is listening.
  }
  process.exit(1);
});
