import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultsInput } from '../../../src/sim/faults.js';
import { defaultBridge } from '../../../src/sim/settings.js';
import { settledLeftovers, runCli, runCliProcess, startCli, startRelay, startTarget, type Target } from '../../helpers/driver.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

function suite(transport: 'embedded' | 'sshd') {
  let target: Target;
  beforeAll(async () => {
    // The node has an address on VLAN 20 (vmbr0.20): the guest there is found by a probe.
    const vlan20 = (lan: string) => ({ tag: 20, network: `${lan}.20.0/24`, gateway: `${lan}.20.1`, hostAddress: `${lan}.20.2` });
    target = await startTarget({ sshd: transport === 'sshd' }, (lan) => ({ nodes: [{ name: 'pve', bridges: [{ ...defaultBridge(lan), vlans: [vlan20(lan)] }] }] }));
  });
  afterAll(async () => target.dispose());
  afterEach(() => target.simHost.clearFaults());

  // As a child process: the JSON on the real stdout and the process' exit status.
  it('provisions a ready VM whose config is exactly what was asked, and reports the real NIC address', async () => {
    const result = await runCliProcess([
      'provision', ...target.flags(), ...target.vmFlags(`web-${transport}`),
      '--cores', '3', '--memory', '3072', '--disk', '12', '--vlan', '20', '--dns', '1.1.1.1 8.8.8.8', '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const { vm, stats } = result.json();
    const config = target.simHost.vmConfig(vm.id);
    expect(config).toMatchObject({ name: `web-${transport}`, cores: '3', memory: '3072', ciuser: 'ubuntu', nameserver: '1.1.1.1 8.8.8.8', ipconfig0: 'ip=dhcp' });
    expect(config?.scsi0).toMatch(/,size=12G$/);
    expect(config?.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,tag=20$/);
    expect(decodeURIComponent(config?.sshkeys ?? '')).toBe(fs.readFileSync(`${target.info.identityFile}.pub`, 'utf8').trim() + '\n');
    const mac = (config?.net0 ?? '').slice('virtio='.length, 'virtio='.length + 17).toLowerCase();
    const guest = JSON.parse(fs.readFileSync(path.join(target.simHost.paths.guestsDir, `${vm.id}.json`), 'utf8'));
    expect(guest.mac.toLowerCase()).toBe(mac);
    expect(vm).toMatchObject({ name: `web-${transport}`, ip: guest.ip, user: 'ubuntu', node: 'pve', cores: 3, memoryMiB: 3072, diskGiB: 12 });
    expect(target.simHost.listVms().find((entry) => entry.vmid === vm.id)?.running).toBe(true);
    expect(stats.uploads).toBe(1);
  });

  it('costs one SSH exec once the provisioner is cached', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(`cached-${transport}`), '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().stats).toMatchObject({ execs: 1, uploads: 0, attempts: 1 });
  });

  it('--quiet prints only the result: the VM ID, name and address on one line', async () => {
    const name = `quiet-${transport}`;
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(name), '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const vm = target.simHost.listVms().find((entry) => entry.config.name === name);
    expect(result.stdout).toMatch(new RegExp(`^${vm?.vmid} ${name} 127\\.\\d+\\.\\d+\\.\\d+\\n$`));
    expect(result.stderr).toBe('');
  });

  it('refuses a name that is taken with NAME_CONFLICT naming the VMID, leaving both VMs alone', async () => {
    const before = target.simHost.listVms().map((vm) => vm.vmid);
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(`web-${transport}`), '--json']);
    expect(result.code).toBe(9);
    expect(result.json().error).toMatchObject({ code: 'NAME_CONFLICT', exitCode: 9 });
    expect(result.json().error.message).toMatch(/VMID \d+/);
    expect(target.simHost.listVms().map((vm) => vm.vmid)).toEqual(before);
  });
}

describe('linus provision through the embedded SSH endpoint', () => suite('embedded'));
describeWithSshd('linus provision through a real OpenSSH sshd', () => suite('sshd'));

describe('linus provision under failure', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());
  afterEach(() => {
    target.simHost.clearFaults();
  });

  it.each([
    ['importFail', { importFail: true }, 'CREATE_FAILED', 5],
    ['startFail', { startFail: true }, 'START_FAILED', 5],
    ['resizeFail', { resizeFail: true }, 'RESIZE_FAILED', 5],
    // The thin pool refuses the allocation although the storage reported room.
    ['storageFull', { storageFull: ['local-lvm'] }, 'CREATE_FAILED', 5],
    ['agent never, no neighbour entry', { agent: 'never', neighbour: false }, 'IP_TIMEOUT', 6],
    ['guest sshd never answers', { guestSsh: 'never' }, 'SSH_TIMEOUT', 6],
  ] as Array<[string, FaultsInput, string, number]>)('%s ends in %s with nothing left behind', async (_name, faults, code, exitCode) => {
    const before = await settledLeftovers(target);
    target.simHost.setFaults(faults);
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(`fault-${code.toLowerCase().replaceAll('_', '-')}`), '--timeout', '10', '--json']);
    expect(result.code, result.stderr).toBe(exitCode);
    expect(result.json()).toMatchObject({ ok: false, error: { code, exitCode } });
    expect(await settledLeftovers(target)).toEqual(before);
  });

  it('refuses a disk larger than the storage has free with INSUFFICIENT_STORAGE before creating anything', async () => {
    const before = await settledLeftovers(target);
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('too-big'), '--disk', '600', '--json']);
    expect(result.code, result.stderr).toBe(10);
    expect(result.json().error.code).toBe('INSUFFICIENT_STORAGE');
    expect(await settledLeftovers(target)).toEqual(before);
  });

  it('retries a held VM lock with a fresh run id and succeeds once it is free', async () => {
    target.simHost.setFaults({ heldLock: { commands: ['create'] } });
    const run = startCli(['provision', ...target.flags(), ...target.vmFlags('lock-retry'), '--json']);
    await run.waitForStderr(/LOCK_TIMEOUT is transient/);
    target.simHost.clearFaults();
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().stats.attempts).toBe(2);
    expect(target.simHost.listVms().filter((vm) => vm.config.name === 'lock-retry')).toHaveLength(1);
  });

  it('gives 6 concurrent provisions 6 distinct VMs although a stale vmlist shows them all the same free ID', async () => {
    target.simHost.setFaults({ vmlistStale: true });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) => runCli(['provision', ...target.flags(), ...target.vmFlags(`par-${index}`), '--json'])),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const ids = results.map((result) => result.json().vm.id as number);
    expect(new Set(ids).size).toBe(6);
    expect(target.simHost.listVms().filter((vm) => vm.config.name?.startsWith('par-'))).toHaveLength(6);
  }, 180_000);

  it('follows the job through a dropped connection and still reports the VM', async () => {
    const relay = await startRelay(target.info.port);
    try {
      const run = startCli(['provision', ...target.flags({ port: String(relay.port) }), '--host-key', target.info.hostKeyFingerprint, ...target.vmFlags('dropped'), '--json']);
      await run.waitForStderr(/claiming a VM ID/);
      relay.cut();
      const result = await run.result;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/connection lost/);
      expect(result.json().stats.reconnects).toBeGreaterThan(0);
      expect(relay.connections()).toBeGreaterThan(1);
      expect(target.simHost.vmConfig(result.json().vm.id)?.name).toBe('dropped');
    } finally {
      await relay.close();
    }
  });

  it('on Ctrl-C cancels the host job, waits for its rollback and exits 130', async () => {
    const before = await settledLeftovers(target);
    const run = startCli(['provision', ...target.flags(), ...target.vmFlags('interrupted'), '--json']);
    await run.waitForStderr(/VM ID \d+ claimed/);
    const claimed = Number(/VM ID (\d+) claimed/.exec(run.stderrText())?.[1]);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(130);
    // The JSON names the VM that was claimed and rolled back, and says what happened in the
    // operator's terms; each rollback line shows once.
    expect(result.json()).toMatchObject({ vmId: claimed, error: { code: 'CANCELLED', message: expect.stringMatching(/^cancelled on request/) } });
    const rollbackLines = result.stderr.split('\n').filter((line) => line.includes('rollback:'));
    expect(rollbackLines.length).toBeGreaterThan(0);
    expect(new Set(rollbackLines).size).toBe(rollbackLines.length);
    expect(await settledLeftovers(target)).toEqual(before);
  });
});

describe('linus provision refuses before anything runs on the host', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());

  it('refuses a changed host key naming both fingerprints, and runs no remote command', async () => {
    const other = await startTarget();
    try {
      // The known_hosts entry of another host, for this host's address and port.
      const knownHosts = path.join(target.dir, 'wrong_known_hosts');
      const otherLine = fs.readFileSync(other.info.knownHostsFile, 'utf8').trim().split(' ').slice(1).join(' ');
      fs.writeFileSync(knownHosts, `[127.0.0.1]:${target.info.port} ${otherLine}\n`);
      target.simHost.clearCalls();
      const result = await runCli(['provision', ...target.flags({ 'known-hosts': knownHosts }), ...target.vmFlags('mitm'), '--json']);
      expect(result.code).toBe(21);
      expect(result.json().error.code).toBe('HOST_KEY_MISMATCH');
      expect(result.json().error.message).toContain(target.info.hostKeyFingerprint);
      expect(result.json().error.message).toContain(other.info.hostKeyFingerprint);
      expect(target.simHost.calls()).toEqual([]);
      expect(fs.existsSync(path.join(target.info.remoteDir, 'provisioners'))).toBe(false);
    } finally {
      await other.dispose();
    }
  });

  it.each([
    [['--name', 'web;reboot'], '--name'],
    [['--name', '$(id)'], '--name'],
    [['--name', 'ok', '--dns', '1.1.1.1;rm -rf /'], '--dns'],
    [['--name', 'ok', '--ip', '10.0.0.5/24'], '--gateway'],
    [['--name', 'ok', '--node', 'pve;id'], '--node'],
    [['--name', 'ok', '--remote-dir', '/tmp/$(id)'], '--remote-dir'],
  ])('rejects %j locally (%s) without even connecting', async (args, flag) => {
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((listener.address() as net.AddressInfo).port);
      const result = await runCli(['provision', ...target.flags({ port }), '--ssh-key', `${target.info.identityFile}.pub`, ...args, '--json']);
      expect(result.code).toBe(1);
      expect(result.json().error).toMatchObject({ code: 'INVALID_SPEC', exitCode: 1 });
      expect(result.json().error.message).toContain(flag);
      expect(connections).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('refuses a private key passed as --ssh-key before connecting', async () => {
    const result = await runCli(['provision', ...target.flags(), '--name', 'leak', '--ssh-key', target.info.identityFile, '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error.message).toMatch(/PRIVATE key/);
    expect(target.simHost.vmConfig(100)?.name).not.toBe('leak');
  });
});
