import fs from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import type { HostSettingsInput } from '../../../src/sim/settings.js';
import { fixtureDir, GUEST_SSH_PORT, localRunner, readBanner, waitFor } from '../../helpers/local-runner.js';

// Every fault in src/sim/faults.ts, observed through its effect.
const fixture = fixtureDir();
let host: SimHost | undefined;

async function makeHost(settings: HostSettingsInput = {}) {
  host = await createSimHost({ settings: { bootDelayMs: 300, agentPingTimeoutMs: 300, guestSshPort: GUEST_SSH_PORT, ...settings } });
  return { host, run: localRunner(host).exec };
}

afterEach(async () => {
  await host?.dispose();
  if (host) fs.rmSync(host.root, { recursive: true, force: true });
  host = undefined;
});

// A guest that boots and ships the agent (Rocky 9 on an x86-64-v2 CPU), or one without (Ubuntu).
const withAgent = `--cpu x86-64-v2-AES --scsi0 local-lvm:0,import-from=${fixture.agentImage}`;
const withoutAgent = `--scsi0 local-lvm:0,import-from=${fixture.image}`;

// The DHCP lease of a started guest, read once it has had time to boot.
async function bootedIp(vmid: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 800));
  const leases = JSON.parse(fs.readFileSync(host?.paths.leasesJson ?? '', 'utf8')) as Record<string, string>;
  const mac = (host?.vmConfig(vmid)?.net0 ?? '').slice('virtio='.length, 'virtio='.length + 17).toLowerCase();
  return leases[mac] ?? '';
}

describe('fault injection', () => {
  it('latencyMs delays every call', async () => {
    const { host: h, run } = await makeHost();
    h.setFaults({ latencyMs: 700 });
    const started = Date.now();
    expect((await run('pveversion')).code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(h.calls().at(-1)?.durationMs).toBeGreaterThanOrEqual(700);
  });

  it('agent never: the agent stays silent after boot; delay: it answers late', async () => {
    const { host: h, run } = await makeHost();
    expect((await run(`qm create 100 --agent 1 --net0 virtio,bridge=vmbr0 ${withAgent} && qm start 100`)).code).toBe(0);
    h.setFaults({ agent: 'never' });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await run('qm guest cmd 100 ping')).toEqual({ stdout: '', stderr: 'QEMU guest agent is not running\n', code: 255 });
    // The delay counts from `qm start`: restart so it does not run out while a loaded machine is slow.
    h.setFaults({ agent: { delayMs: 6000 } });
    expect((await run('qm stop 100 && qm start 100')).code).toBe(0);
    expect((await run('qm guest cmd 100 ping')).stderr).toBe('QEMU guest agent is not running\n');
    await waitFor(async () => ((await run('qm guest cmd 100 ping')).code === 0 ? true : undefined), 20_000);
  });

  it('neighbour false keeps the guest out of the ARP table even when the node talks to it; guestSsh never leaves port 22 closed', async () => {
    const { host: h, run } = await makeHost();
    h.setFaults({ neighbour: false, guestSsh: 'never' });
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 ${withoutAgent} && qm start 100`)).code).toBe(0);
    const ip = await bootedIp(100);
    expect(ip).toMatch(new RegExp(`^127\\.${h.settings.addressBlock}\\.0\\.`));
    await expect(readBanner(ip, GUEST_SSH_PORT)).rejects.toThrow(/ECONNREFUSED/);
    expect(fs.readFileSync(h.paths.neighTable, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    // Without faults the same guest answers after a restart, and contact puts it in the table.
    h.clearFaults();
    expect((await run('qm stop 100 && qm start 100')).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await readBanner(ip, GUEST_SSH_PORT)).toMatch(/^SSH-2\.0-OpenSSH_9\.6p1/);
    expect(fs.readFileSync(h.paths.neighTable, 'utf8')).toContain(ip);
  });

  it('neighbour false holds while it is set: once cleared, the next contact puts the running guest in the table', async () => {
    const { host: h, run } = await makeHost();
    h.setFaults({ neighbour: false });
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 ${withoutAgent} && qm start 100`)).code).toBe(0);
    const ip = await bootedIp(100);
    expect(await waitFor(() => readBanner(ip, GUEST_SSH_PORT).catch(() => undefined), 5000)).toMatch(/^SSH-2\.0-/);
    expect(fs.readFileSync(h.paths.neighTable, 'utf8')).not.toContain(ip);
    h.clearFaults();
    expect(await readBanner(ip, GUEST_SSH_PORT)).toMatch(/^SSH-2\.0-/);
    await waitFor(() => (fs.readFileSync(h.paths.neighTable, 'utf8').includes(ip) ? true : undefined), 5000);
  });

  it('importFail fails the create worker, frees the volume and unlinks the config', async () => {
    const { host: h, run } = await makeHost();
    h.setFaults({ importFail: true });
    const result = await run(`qm create 100 --scsi0 local-lvm:0,import-from=${fixture.image}`);
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/^unable to create VM 100 - copy failed: command '\/usr\/bin\/qemu-img convert -p -n -f qcow2 -O raw .* zeroinit:\/dev\/pve\/vm-100-disk-0' failed: exit code 1\n$/);
    expect(result.stdout).toContain('  Logical volume "vm-100-disk-0" successfully removed.\n');
    expect(h.vmConfig(100)).toBeUndefined();
    expect(h.volumes()).toEqual([]);
  });

  // API2/Qemu.pm create_vm l.1374 (create_and_lock_config writes `lock: create`) and l.1478-1558 (the
  // worker allocates under lock_config_full and writes the full config last): killed in between.
  it('createCrash kill: qm create dies mid-import; the lock: create config and its volumes stay, the flock dies with it', async () => {
    const { host: h, run } = await makeHost({ lockTimeoutMs: 600 });
    h.setFaults({ createCrash: 'kill' });
    const result = await run(`qm create 100 --ide2 local-lvm:cloudinit --scsi0 local-lvm:0,import-from=${fixture.image} --tags linus; echo "exit $?"`);
    expect(result.stdout).toContain('(50.00%)\n');
    expect(result.stdout).not.toContain('(51.00%)');
    expect(result.stdout.endsWith('exit 137\n')).toBe(true);
    expect(result.stderr).toMatch(/Killed/);
    expect(h.vmConfig(100)).toEqual({ lock: 'create' });
    expect(h.volumes().map((volume) => volume.volid)).toEqual(['local-lvm:vm-100-cloudinit', 'local-lvm:vm-100-disk-0']);
    expect(h.locks()).toEqual(['100: create']);
    h.clearFaults();
    // Nobody holds the flock any more: no `trying to acquire lock...`.
    expect(await run('qm unlock 100')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(h.vmConfig(100)).toEqual({});
  });

  it('createCrash hang: qm create waits mid-import holding the flock, and finishes once the fault is gone', async () => {
    const { host: h, run } = await makeHost({ lockTimeoutMs: 600 });
    h.setFaults({ createCrash: 'hang' });
    const create = run(`qm create 100 --ide2 local-lvm:cloudinit --scsi0 local-lvm:0,import-from=${fixture.image} --tags linus`);
    await waitFor(() => (h.volumes().length === 2 ? true : undefined), 20_000);
    expect(h.vmConfig(100)).toEqual({ lock: 'create' });
    expect(h.locks()).toEqual(['/var/lock/qemu-server/lock-100.conf', '100: create']);
    expect(await run('qm unlock 100')).toEqual({
      stdout: '',
      stderr: "trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n",
      code: 255,
    });
    h.clearFaults();
    expect((await create).code).toBe(0);
    expect(h.vmConfig(100)).toMatchObject({ tags: 'linus', scsi0: 'local-lvm:vm-100-disk-0,size=2252M' });
    expect(h.locks()).toEqual([]);
  });

  it('storageFull and real capacity make allocation fail with the lvcreate text', async () => {
    const { host: h, run } = await makeHost({ storageCapacity: { local: 10 * 1024 ** 3, 'local-lvm': 10 * 1024 ** 3 } });
    const full = "unable to create VM 100 - lvcreate 'pve/vm-100-disk-0' error:   Cannot create new thin volume, free space in thin pool pve/data reached threshold.\n";
    expect(await run('qm create 100 --scsi0 local-lvm:20')).toEqual({ stdout: '', stderr: full, code: 255 });
    expect((await run('qm create 100 --scsi0 local-lvm:8')).code).toBe(0);
    h.setFaults({ storageFull: ['local-lvm'] });
    expect((await run('qm create 101 --scsi0 local-lvm:1')).stderr).toBe(full.replaceAll('100', '101'));
    const status = JSON.parse((await run('pvesh get /nodes/pve/storage/local-lvm/status --output-format json')).stdout) as Record<string, number>;
    expect(status).toMatchObject({ total: 10 * 1024 ** 3, used: 8 * 1024 ** 3, avail: 2 * 1024 ** 3 });
  });

  it('startFail fails qm start; resizeFail prints the error and still exits 0', async () => {
    const { host: h, run } = await makeHost();
    expect((await run('qm create 100 --scsi0 local-lvm:1')).code).toBe(0);
    h.setFaults({ startFail: true, resizeFail: true });
    expect(await run('qm start 100')).toEqual({ stdout: '', stderr: 'start failed: QEMU exited with code 1\n', code: 255 });
    const resize = await run('qm resize 100 scsi0 +1G');
    expect(resize.code).toBe(0);
    expect(resize.stderr).toMatch(/^command '\/sbin\/lvextend .*' failed: exit code 5\n$/);
    expect(h.vmConfig(100)?.scsi0).toBe('local-lvm:vm-100-disk-0,size=1G');
  });

  it('startFailNodes fails qm start only on the nodes named', async () => {
    const { host: h } = await makeHost({ nodes: [{ name: 'pve' }, { name: 'pve2' }] });
    const [one, two] = [localRunner(h, 'pve').exec, localRunner(h, 'pve2').exec];
    expect((await one('qm create 100 --scsi0 local-lvm:1')).code).toBe(0);
    expect((await two('qm create 101 --scsi0 local-lvm:1')).code).toBe(0);
    expect(h.listVms().map(({ vmid, node }) => [vmid, node])).toEqual([[100, 'pve'], [101, 'pve2']]);
    h.setFaults({ startFailNodes: ['pve2'] });
    expect(await two('qm start 101')).toEqual({ stdout: '', stderr: 'start failed: QEMU exited with code 1\n', code: 255 });
    expect((await one('qm start 100')).code).toBe(0);
    expect(h.listVms().find((vm) => vm.vmid === 100)?.running).toBe(true);
  });

  it('startFailNames fails qm start only for the VMs named', async () => {
    const { host: h, run } = await makeHost();
    expect((await run('qm create 100 --name good --scsi0 local-lvm:1')).code).toBe(0);
    expect((await run('qm create 101 --name bad --scsi0 local-lvm:1')).code).toBe(0);
    h.setFaults({ startFailNames: ['bad'] });
    expect(await run('qm start 101')).toEqual({ stdout: '', stderr: 'start failed: QEMU exited with code 1\n', code: 255 });
    expect((await run('qm start 100')).code).toBe(0);
    expect(h.listVms().map(({ vmid, running }) => [vmid, running])).toEqual([[100, true], [101, false]]);
  });

  it('heldLock makes config changes wait lockTimeoutMs and time out', async () => {
    const { host: h, run } = await makeHost({ lockTimeoutMs: 600 });
    expect((await run('qm create 100')).code).toBe(0);
    h.setFaults({ heldLock: { vmid: 100, commands: ['set'] } });
    const started = Date.now();
    expect(await run('qm set 100 --memory 1024')).toEqual({
      stdout: '',
      stderr: "trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n",
      code: 255,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect((await run('qm status 100')).code).toBe(0);
    expect((await run('qm resize 100 scsi0 +1G')).code).toBe(0);
  });

  it('offlineNodes shows a node offline in /nodes and /cluster/resources', async () => {
    const { host: h, run } = await makeHost({ nodes: [{ name: 'pve' }, { name: 'pve2' }] });
    h.setFaults({ offlineNodes: ['pve2'] });
    const nodes = JSON.parse((await run('pvesh get /nodes --output-format json')).stdout) as Array<{ node: string; status: string }>;
    expect(nodes.map((entry) => [entry.node, entry.status])).toEqual([['pve', 'online'], ['pve2', 'offline']]);
    const resources = JSON.parse((await run('pvesh get /cluster/resources --type node --output-format json')).stdout) as Array<{ node: string; status: string }>;
    expect(resources.find((entry) => entry.node === 'pve2')?.status).toBe('offline');
    const status = await run('pvesh get /nodes/pve2/status');
    expect(status.code).toBe(255);
    expect(status.stderr).toContain('pve2');
  });

  it('a guest whose address:port is taken makes qm start fail loudly', async () => {
    const { host: h, run } = await makeHost();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(GUEST_SSH_PORT, '127.77.0.5', resolve));
    try {
      expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 --ipconfig0 ip=127.77.0.5/16 ${withoutAgent}`)).code).toBe(0);
      const result = await run('qm start 100');
      expect(result.code).toBe(255);
      expect(result.stdout).toContain('EADDRINUSE');
      expect(result.stderr).toBe('start failed: QEMU exited with code 1\n');
      expect(h.listVms()[0]?.running).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

afterAll(() => fs.rmSync(fixture.dir, { recursive: true, force: true }));
