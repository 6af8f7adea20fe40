import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { parseVmConfig } from './tools/config-format.js';
import { outsideCalls } from './tools/caller.js';
import type { Faults } from './faults.js';
import { readFaults } from './tools/context.js';
import { agentAnswer } from './guest-agent.js';
import { guestPidFile, guestQgaSocket, type GuestRecord } from './guest-record.js';
import { GuestNetwork } from './guest-network.js';
import type { SimPaths } from './paths.js';
import { parsePropertyString } from './tools/property-string.js';

// The simulated guest, standing in for QEMU. Its process is a shell that only waits (argv
// `linus-sim-guest <root> <vmid>`): `qm stop` signals it, and the pid file names it, as a real
// node's names the kvm process. What the guest does runs in the tool server that served its
// `qm start`: the guest agent socket var/run/qemu-server/<vmid>.qga (the agent answers only when
// guest-plan.ts says it runs) and, once the guest has booted, its sshd's banner on <ip>:<port>.
// It enters the node's neighbour table only as a real LAN would make it (§15.5): when the node is
// its gateway, or when the node sent to its address (the SSH port, or a datagram to the probe
// port) while the node has an address on that network. The guest ends when its process does
// (signalled, or its stdin closed because the tool server ended), when its pid file or root
// disappears, or after MAX_LIFETIME_MS so it can never outlive a test run. A Node process per
// guest cost about 0.13 s of CPU at every start. Foreign machines (foreign.ts) run the same
// network part.
const MAX_LIFETIME_MS = 2 * 60 * 60 * 1000;
const WATCH_MS = 500;
const GUEST_PROCESS_NAME = 'linus-sim-guest';

// The guests this process runs, by process id: how each is stopped.
const running = new Map<number, () => Promise<void>>();

// Guests this process runs: a tool server does not stop for idleness while one runs.
export function runningGuestCount(): number {
  return running.size;
}

// Stops the guest whose process is <pid> if this process runs it (its network first, then its
// process); false if another process runs it.
export async function stopOwnGuest(pid: number): Promise<boolean> {
  const stop = running.get(pid);
  if (!stop) return false;
  await stop();
  return true;
}

// Faults as they are now (a test changes them while guests run); none while the file is being
// rewritten, so a guest's socket handler never throws in the tool server.
function currentFaults(paths: SimPaths): Faults {
  try {
    return readFaults(paths);
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

function serveAgent(record: GuestRecord, hostname: string, ready: () => boolean, shutdown: () => void): net.Server {
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
        if (!ready()) continue;
        const command = request.execute ?? '';
        const result = agentAnswer(command, record, hostname, record.image);
        const reply = result === undefined ? { error: { class: 'CommandNotFound', desc: `The command ${command} has not been found` } } : { return: result };
        socket.write(`${JSON.stringify(reply)}\n`);
        if (command === 'guest-shutdown') setTimeout(shutdown, 50);
      }
    });
  });
}

function listenOn(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// Starts the guest of <record> (written to its record file by the caller) with the environment of
// the `qm start` that starts it; resolves once its process runs and its agent socket listens, or
// with the error that kept it from taking its address. Runs apart from the calling tool call: the
// guest outlives the `qm start`.
export function startGuest(paths: SimPaths, record: GuestRecord, env: Record<string, string>): Promise<{ ok: true; pid: number } | { ok: false; code: string; message: string }> {
  return outsideCalls(() => launch(paths, record, env));
}

async function launch(paths: SimPaths, record: GuestRecord, env: Record<string, string>): Promise<{ ok: true; pid: number } | { ok: false; code: string; message: string }> {
  const { vmid } = record;
  const hostname = (() => {
    try {
      return parseVmConfig(fs.readFileSync(paths.vmConfig(record.node, vmid), 'utf8')).values.name ?? `VM${vmid}`;
    } catch {
      return `VM${vmid}`;
    }
  })();
  const faults = currentFaults(paths);
  const nic = record.ip !== undefined && record.mac !== undefined ? { ip: record.ip, mac: record.mac, device: record.bridge ?? 'vmbr0', hostCidr: record.hostCidr, gateway: record.gateway } : undefined;
  const sshBanner = `${record.image?.sshBanner ?? 'SSH-2.0-OpenSSH_9.6p1'}\r\n`;
  const network = nic && record.boots ? new GuestNetwork(paths, nic, { sshPort: record.sshPort, probePort: record.probePort, sshBanner: faults.guestSsh === 'never' ? undefined : sshBanner }, () => currentFaults(paths).neighbour === false) : undefined;
  const qgaPath = guestQgaSocket(paths, vmid);
  let booted = false;
  const agentReady = () => {
    const fault = currentFaults(paths).agent;
    if (fault === 'never' || !booted || record.agentAfterMs === undefined) return false;
    const after = Math.max(record.agentAfterMs, fault?.delayMs ?? 0);
    return Date.now() >= record.startedAt + after && agentEnabled(paths, record);
  };
  let stopGuest: () => Promise<void> = async () => undefined;
  const qga = serveAgent(record, hostname, agentReady, () => void stopGuest());
  try {
    // Fail now, while `qm start` waits, if the guest's address:port is taken by something that is
    // not a simulated machine (a real conflict between machines is silent, as on a LAN).
    await network?.checkFree();
    fs.rmSync(qgaPath, { force: true });
    await listenOn(qga, qgaPath);
  } catch (error) {
    qga.close();
    const err = error as NodeJS.ErrnoException;
    return { ok: false, code: err.code ?? 'EFAIL', message: err.message ?? String(error) };
  }
  // `read` ends at EOF: the process goes when the tool server does.
  const guest = spawn('bash', ['-c', 'read -r _ || :', GUEST_PROCESS_NAME, paths.root, String(vmid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env });
  const pid = guest.pid;
  if (pid === undefined) {
    qga.close();
    fs.rmSync(qgaPath, { force: true });
    return { ok: false, code: 'ESPAWN', message: 'the guest process did not start' };
  }
  guest.stdin?.on('error', () => undefined);
  guest.unref();
  const pidFile = guestPidFile(paths, vmid);
  fs.writeFileSync(pidFile, `${pid}\n`);
  const exited = new Promise<void>((resolve) => guest.once('exit', () => resolve()));

  const startedAt = Date.now();
  const boot = setTimeout(() => {
    void (async () => {
      await network?.up();
      booted = record.boots;
      // Taken down while its network came up: down again.
      if (down) await network?.close().catch(() => undefined);
    })();
  }, record.bootDelayMs);
  const watch = setInterval(() => {
    let ours = false;
    try {
      ours = fs.readFileSync(pidFile, 'utf8').trim() === String(pid);
    } catch {
      ours = false;
    }
    if (!ours || !fs.existsSync(paths.root) || Date.now() - startedAt > MAX_LIFETIME_MS) void stopGuest();
  }, WATCH_MS);
  // The guest's sockets and neighbour entry go before its process does, as a QEMU told to quit
  // closes them before it exits: a `qm start` right after finds the address free.
  let down: Promise<void> | undefined;
  const takeDown = (): Promise<void> => {
    down ??= (async () => {
      clearTimeout(boot);
      clearInterval(watch);
      qga.close();
      if (fs.existsSync(paths.root)) await network?.close().catch(() => undefined);
    })();
    return down;
  };
  const removeFiles = () => {
    running.delete(pid);
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(pid)) fs.rmSync(pidFile, { force: true });
      fs.rmSync(qgaPath, { force: true });
    } catch {
      // The root may be gone already.
    }
  };
  stopGuest = async () => {
    await takeDown();
    guest.kill('SIGTERM');
    await exited;
    removeFiles();
  };
  running.set(pid, stopGuest);
  // Signalled from outside (a test's teardown), or its stdin closed.
  void exited.then(takeDown).then(removeFiles);
  return { ok: true, pid };
}
