import fs from 'node:fs';
import net from 'node:net';
import { parseVmConfig } from './tools/config-format.js';
import type { Faults } from './faults.js';
import { agentAnswer } from './guest-agent.js';
import { guestPidFile, guestQgaSocket, guestRecordFile } from './guest-files.js';
import type { GuestRecord } from './guest-record.js';
import { GuestNetwork, reportStartFailure } from './guest-network.js';
import { simPaths, type SimPaths } from './paths.js';
import { parsePropertyString } from './tools/property-string.js';

// The simulated guest: one detached process per running VM (`guest-daemon.js <root> <vmid>`),
// standing in for QEMU. It serves the guest agent socket var/run/qemu-server/<vmid>.qga (the agent
// answers only when guest-plan.ts says it runs), and once the guest has booted its sshd's banner on
// <ip>:<port>. It enters the node's neighbour table only as a real LAN would make it (§15.5):
// when the node is its gateway, or when the node sent to its address (the SSH port, or a datagram
// to the probe port) while the node has an address on that network. It exits on SIGTERM
// (qm stop), when its pid file or root disappears, or after MAX_LIFETIME_MS so it can never
// outlive a test run. Foreign machines (foreign.ts) run the same network part.
const MAX_LIFETIME_MS = 2 * 60 * 60 * 1000;

// The daemon reads its own simulator's files without zod (about 60 ms of CPU at every guest
// start): SimHost.setFaults checked faults.json with faultsSchema, and spawnGuest wrote the record
// from a GuestRecord.
function readFaults(paths: SimPaths): Pick<Faults, 'agent' | 'neighbour' | 'guestSsh'> {
  try {
    const faults = JSON.parse(fs.readFileSync(paths.faultsJson, 'utf8')) as Faults;
    return { agent: faults.agent, neighbour: faults.neighbour, guestSsh: faults.guestSsh };
  } catch {
    return {};
  }
}

function readGuestRecord(paths: SimPaths, vmid: number): GuestRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(guestRecordFile(paths, vmid), 'utf8')) as GuestRecord;
  } catch {
    return undefined;
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
  if (fault === 'never' || !booted || record.agentAfterMs === undefined) return false;
  const after = Math.max(record.agentAfterMs, fault?.delayMs ?? 0);
  return Date.now() >= record.startedAt + after && agentEnabled(paths, record);
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
        const result = agentAnswer(command, record, hostname, record.image);
        const reply = result === undefined ? { error: { class: 'CommandNotFound', desc: `The command ${command} has not been found` } } : { return: result };
        socket.write(`${JSON.stringify(reply)}\n`);
        if (command === 'guest-shutdown') setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);
      }
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
  const nic = record.ip !== undefined && record.mac !== undefined ? { ip: record.ip, mac: record.mac, device: record.bridge ?? 'vmbr0', hostCidr: record.hostCidr, gateway: record.gateway } : undefined;
  const sshBanner = `${record.image?.sshBanner ?? 'SSH-2.0-OpenSSH_9.6p1'}\r\n`;
  const network = nic && record.boots ? new GuestNetwork(paths, nic, { sshPort: record.sshPort, probePort: record.probePort, sshBanner: readFaults(paths).guestSsh === 'never' ? undefined : sshBanner }) : undefined;

  // Fail now, while `qm start` waits, if the guest's address:port is taken by something that is
  // not a simulated machine (a real conflict between machines is silent, as on a LAN).
  await network?.checkFree();

  const qgaPath = guestQgaSocket(paths, vmid);
  fs.rmSync(qgaPath, { force: true });
  const qga = serveAgent(paths, record, hostname);
  await new Promise<void>((resolve, reject) => {
    qga.once('error', reject);
    qga.listen(qgaPath, () => resolve());
  });
  const pidFile = guestPidFile(paths, vmid);
  fs.writeFileSync(pidFile, `${process.pid}\n`);

  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    qga.close();
    try {
      if (fs.existsSync(paths.root)) await network?.close();
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
      if (readFaults(paths).neighbour === false) network?.neverResolved();
      await network?.up();
      booted = record.boots;
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

main().catch(reportStartFailure);
