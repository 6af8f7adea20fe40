import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { processAlive } from '../../../src/sim/tools/caller.js';
import { fixtureDir, localRunner, waitFor } from '../../helpers/local-runner.js';

// One tool server per simulated host (src/sim/tools/server.ts) runs every call for a Perl client
// (client.ts) that stands in for the call's process. A real `qm` holds its flock itself
// (PVE::Tools::lock_file_full, pve-common src/PVE/Tools.pm), so the lock dies with the process.
const fixture = fixtureDir();
let host: SimHost | undefined;

async function makeHost(): Promise<SimHost> {
  host = await createSimHost({ settings: { lockTimeoutMs: 600 } });
  return host;
}

afterEach(async () => {
  await host?.dispose();
  if (host) fs.rmSync(host.root, { recursive: true, force: true });
  host = undefined;
});

afterAll(() => {
  fs.rmSync(fixture.dir, { recursive: true, force: true });
});

function serverPid(h: SimHost): number {
  return Number.parseInt(fs.readFileSync(h.paths.toolServerPid, 'utf8'), 10);
}

// `bash -c` with one simple command execs it: the child is the tool's client itself.
function startCall(h: SimHost, command: string): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(h.hostShell(), ['-c', command], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return { child, done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr }))) };
}

// `qm create` held half-way through its import (faults.createCrash 'hang') with its flock taken.
async function hangingCreate(h: SimHost) {
  h.setFaults({ createCrash: 'hang' });
  const call = startCall(h, `qm create 100 --scsi0 local-lvm:0,import-from=${fixture.image} --tags linus`);
  // Its volume is allocated: the call runs on without a wait up to the hang (disk-create.ts).
  await waitFor(() => (h.volumes().length === 1 ? true : undefined), 20_000);
  expect(h.locks()).toEqual(['/var/lock/qemu-server/lock-100.conf', '100: create']);
  return call;
}

// A killed `qm create` (API2/Qemu.pm create_vm: the worker runs under lock_config_full) leaves its
// `lock: create` config and its volumes, and its flock is gone: the next taker gets it at once.
async function expectKilledCreate(h: SimHost, callsBefore: number): Promise<void> {
  const run = localRunner(h).exec;
  expect(h.locks()).toEqual(['100: create']);
  h.clearFaults();
  // The killed call does not go on once the fault is gone.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(h.vmConfig(100)).toEqual({ lock: 'create' });
  expect(h.calls()).toHaveLength(callsBefore);
  expect(await run('qm unlock 100')).toEqual({ stdout: '', stderr: '', code: 0 });
  expect(h.vmConfig(100)).toEqual({});
}

describe('tool server', () => {
  for (const [how, kill] of [
    ['SIGKILL of its process group', (child: ChildProcess) => process.kill(-(child.pid as number), 'SIGKILL')],
    ['SIGTERM of the client alone', (child: ChildProcess) => child.kill('SIGTERM')],
  ] as const) {
    it(`a client killed by ${how} ends its call, and the flock dies with it`, async () => {
      const h = await makeHost();
      const callsBefore = h.calls().length;
      const { child, done } = await hangingCreate(h);
      const server = serverPid(h);
      kill(child);
      expect((await done).signal).toBe(how.startsWith('SIGKILL') ? 'SIGKILL' : 'SIGTERM');
      await expectKilledCreate(h, callsBefore);
      // The server is in a session of its own: the caller's process group is not its group.
      expect(serverPid(h)).toBe(server);
      expect(processAlive(server)).toBe(true);
    });
  }

  it('runs calls side by side: a call waiting on a flock does not hold up another', async () => {
    const h = await makeHost();
    const run = localRunner(h).exec;
    const { done } = await hangingCreate(h);
    const started = Date.now();
    // lockTimeoutMs 600: the waiting `qm unlock` times out while the create still hangs.
    const [unlock, version] = await Promise.all([run('qm unlock 100'), run('sleep 0.1; pveversion')]);
    expect(unlock.stderr).toBe("trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n");
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^pve-manager\//) });
    // Served while the unlock still waited on the flock, not after it: a server serving calls in
    // turn would end pveversion after the unlock's 600 ms timeout.
    const end = (call: { time: string; durationMs: number } | undefined) => (call ? Date.parse(call.time) + call.durationMs : Number.NaN);
    const calls = h.calls();
    const versionEnd = end(calls.find((call) => call.tool === 'pveversion'));
    const unlockEnd = end(calls.find((call) => call.tool === 'qm' && call.argv[0] === 'unlock'));
    expect(versionEnd).toBeLessThan(unlockEnd);
    expect(Date.now() - started).toBeLessThan(5000);
    h.clearFaults();
    expect((await done).code).toBe(0);
  });

  it('a server that died is restarted by the next call; the call it was running fails and frees its flock', async () => {
    const h = await makeHost();
    const run = localRunner(h).exec;
    const { done } = await hangingCreate(h);
    const first = serverPid(h);
    process.kill(first, 'SIGKILL');
    const result = await done;
    expect(result.code).toBe(70);
    expect(result.stderr).toBe(`linus-sim: the tool server of ${h.paths.sim} went away during the call (see ${h.paths.toolServerLog})\n`);
    h.clearFaults();
    expect(await run('qm unlock 100')).toEqual({ stdout: '', stderr: '', code: 0 });
    const second = serverPid(h);
    expect(second).not.toBe(first);
    expect(processAlive(second)).toBe(true);
  });

  it('concurrent first calls start one server', async () => {
    const h = await makeHost();
    const run = localRunner(h).exec;
    const results = await Promise.all(Array.from({ length: 6 }, () => run('pveversion')));
    expect(results.map((result) => result.code)).toEqual(Array(6).fill(0));
    const pid = serverPid(h);
    const servers = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
          return cmdline.some((arg) => arg.endsWith('tools/server.js')) && cmdline.includes(h.root);
        } catch {
          return false;
        }
      });
    expect(servers).toEqual([String(pid)]);
  });

  it('dispose stops the server, and so does removing the root', async () => {
    const h = await makeHost();
    expect((await localRunner(h).exec('pveversion')).code).toBe(0);
    const pid = serverPid(h);
    await h.dispose();
    expect(processAlive(pid)).toBe(false);
    expect(fs.existsSync(h.paths.toolSocket)).toBe(false);

    expect((await localRunner(h).exec('pveversion')).code).toBe(0);
    const next = serverPid(h);
    fs.rmSync(h.root, { recursive: true, force: true });
    host = undefined;
    await waitFor(() => (processAlive(next) ? undefined : true), 3000);
  });
});
