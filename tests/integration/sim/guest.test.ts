import dgram from 'node:dgram';
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { withSettings, type HostSettingsSource } from '../../../src/sim/settings.js';
import { fixtureDir, GUEST_SSH_PORT, localRunner, readBanner, waitFor } from '../../helpers/local-runner.js';

// The simulated guest and its network as a stock host and a real guest behave (reference §15):
// each case here is something a friendlier simulator got wrong.
const fixture = fixtureDir();
const PROBE_PORT = process.getuid?.() === 0 ? 9 : 2009;
let host: SimHost | undefined;

async function makeHost(settings: HostSettingsSource = {}) {
  host = await createSimHost({ settings: withSettings(settings, (input) => ({ bootDelayMs: 300, agentPingTimeoutMs: 300, guestSshPort: GUEST_SSH_PORT, guestProbePort: PROBE_PORT, ...input })) });
  return { host, run: localRunner(host).exec };
}

afterEach(async () => {
  await host?.dispose();
  if (host) fs.rmSync(host.root, { recursive: true, force: true });
  host = undefined;
});
afterAll(() => fs.rmSync(fixture.dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const guestIp = (h: SimHost, vmid: number): string | undefined => JSON.parse(fs.readFileSync(`${h.paths.guestsDir}/${vmid}.json`, 'utf8')).ip;
const neighbours = (h: SimHost) => fs.readFileSync(h.paths.neighTable, 'utf8').split('\n').slice(1).filter(Boolean).map((line) => line.split(/\s+/));
const agentUp = async (run: (cmd: string) => Promise<{ code: number }>, vmid: number) => (await run(`qm guest cmd ${vmid} ping`)).code === 0;

function sendProbe(ip: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => socket.send(Buffer.alloc(0), PROBE_PORT, ip, () => (socket.close(), resolve())));
}

describe('a guest follows its boot disk and CPU', () => {
  // §15.1: no --cpu means kvm64 (CPUConfig.pm get_default_cpu_type, 8.x l.738); a RHEL 9 kernel
  // panics there (pve-docs qm.adoc l.505) while QEMU keeps running.
  it('Rocky 9 without --cpu runs as far as qm can tell and never comes up: no lease, no agent, no SSH', async () => {
    const { host: h, run } = await makeHost();
    expect((await run(`qm create 100 --agent enabled=1 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.agentImage}`)).code).toBe(0);
    expect((await run('qm start 100')).code).toBe(0);
    await sleep(1200);
    expect(await run('qm status 100')).toEqual({ stdout: 'status: running\n', stderr: '', code: 0 });
    expect(await run('qm guest cmd 100 ping')).toEqual({ stdout: '', stderr: 'QEMU guest agent is not running\n', code: 255 });
    expect(guestIp(h, 100)).toBeUndefined();
    expect(fs.existsSync(h.paths.leasesJson) ? fs.readFileSync(h.paths.leasesJson, 'utf8') : '{}').toBe('{}');
  });

  it('a blank disk boots nothing', async () => {
    const { host: h, run } = await makeHost();
    expect((await run('qm create 100 --agent 1 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:1 && qm start 100')).code).toBe(0);
    await sleep(800);
    expect(guestIp(h, 100)).toBeUndefined();
    expect(await agentUp(run, 100)).toBe(false);
  });

  // qemu-server CPUConfig.pm validate_vm_cpu_conf l.472-489.
  it('qm checks --cpu against the models it knows', async () => {
    const { host: h, run } = await makeHost();
    expect(await run('qm create 100 --cpu Nehalem-XYZ')).toEqual({
      stdout: '',
      stderr: "400 Parameter verification failed.\ncpu: invalid format - Built-in cputype 'Nehalem-XYZ' is not defined (missing 'custom-' prefix?)\n\nqm create <vmid> [OPTIONS]\n",
      code: 255,
    });
    expect((await run('qm create 100 --cpu x86-64-v2-AES')).code).toBe(0);
    expect(h.vmConfig(100)?.cpu).toBe('x86-64-v2-AES');
  });
});

describe('the guest agent of an image without one', () => {
  const vendorData = '#cloud-config\npackages:\n  - qemu-guest-agent\nruncmd:\n  - [systemctl, start, qemu-guest-agent]\n';
  const delays = { agentInstallDelayMs: 5000, packageUpgradeDelayMs: 60_000 };

  async function ubuntuWithVendorData(run: (cmd: string) => Promise<{ code: number; stderr: string }>, h: SimHost, vmid: number, extra: string) {
    fs.mkdirSync(`${h.root}/var/lib/vz/snippets`, { recursive: true });
    fs.writeFileSync(`${h.root}/var/lib/vz/snippets/qga.yaml`, vendorData);
    const created = await run(`qm create ${vmid} --agent enabled=1 --net0 virtio,bridge=vmbr0 --ide2 local-lvm:cloudinit --cicustom vendor=local:snippets/qga.yaml ${extra} --scsi0 local-lvm:0,import-from=${fixture.image}`);
    expect(created.stderr).toBe('');
  }

  // §15.3 and §15.4: vendor-data installs the agent after boot; Cloudinit.pm (9.x l.186) adds
  // `package_upgrade: true` unless ciupgrade is 0, and that upgrade runs first.
  it('vendor-data installs it some seconds after boot with ciupgrade 0, and only after the upgrade without', async () => {
    const { host: h, run } = await makeHost({ prepared: true, ...delays });
    await ubuntuWithVendorData(run, h, 100, '--ciupgrade 0');
    await ubuntuWithVendorData(run, h, 101, '');
    expect((await run('qm start 100 && qm start 101')).code).toBe(0);
    expect(await agentUp(run, 100)).toBe(false);
    await waitFor(async () => ((await agentUp(run, 100)) ? true : undefined), 15_000);
    expect(await agentUp(run, 101)).toBe(false);
    // When the agent of 101 will answer (the guest's own plan): after the whole upgrade.
    const plan = (vmid: number) => JSON.parse(fs.readFileSync(`${h.paths.guestsDir}/${vmid}.json`, 'utf8')).agentAfterMs;
    expect([plan(100), plan(101)]).toEqual([300 + 5000, 300 + 60_000 + 5000]);
  });

  it('the same guest without vendor-data never gets an agent', async () => {
    const { host: h, run } = await makeHost({ agentInstallDelayMs: 500, packageUpgradeDelayMs: 0 });
    expect((await run(`qm create 100 --agent 1 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
    await sleep(2500);
    expect(await agentUp(run, 100)).toBe(false);
    expect(guestIp(h, 100)).toMatch(new RegExp(`^127\\.${h.settings.addressBlock}\\.0\\.`));
  });

  // Cloudinit.pm read_cloudinit_snippets_file: the ISO is generated at start and reads each file.
  it('a vendor-data file that is gone fails qm start', async () => {
    const { host: h, run } = await makeHost({ prepared: true });
    await ubuntuWithVendorData(run, h, 100, '');
    fs.rmSync(`${h.root}/var/lib/vz/snippets/qga.yaml`);
    expect(await run('qm start 100')).toEqual({ stdout: 'generating cloud-init ISO\n', stderr: "can't open '/var/lib/vz/snippets/qga.yaml' - No such file or directory\n", code: 255 });
  });
});

describe('storage of a stock install', () => {
  // pve-docs pvesm.adoc l.175-177 (§15.2): no storage holds snippets.
  it.each([
    ['8.2', 'iso,vztmpl,backup'],
    ['8.4', 'iso,import,vztmpl,backup'],
    ['9.1', 'iso,import,vztmpl,backup'],
  ] as const)('PVE %s: local holds %s and nothing holds snippets', async (version, content) => {
    const { host: h, run } = await makeHost({ version });
    expect(fs.readFileSync(h.paths.storageCfg, 'utf8')).toContain(`dir: local\n\tpath /var/lib/vz\n\tcontent ${content}\n`);
    const storages = JSON.parse((await run('pvesh get /cluster/resources --type storage --output-format json')).stdout) as Array<{ content: string }>;
    expect(storages.filter((entry) => entry.content.split(',').includes('snippets'))).toEqual([]);
  });

  it('a prepared host has snippets on local, and pvesm path names where a snippet file goes', async () => {
    const { host: h, run } = await makeHost({ prepared: true });
    expect(fs.readFileSync(h.paths.storageCfg, 'utf8')).toContain('content iso,import,vztmpl,backup,snippets\n');
    expect((await run('pvesm path local:snippets/x.yaml')).stdout).toBe(`${h.root}/var/lib/vz/snippets/x.yaml\n`);
  });
});

describe("the node's neighbour table", () => {
  // §15.5: Linux adds an entry only when it resolves an address itself (net/ipv4/arp.c arp_process).
  it('learns a booted guest only when the node sends to its address, e.g. one probe datagram', async () => {
    const { host: h, run } = await makeHost();
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
    await sleep(1000);
    const ip = guestIp(h, 100) as string;
    expect(neighbours(h)).toEqual([]);
    await sendProbe(ip);
    const mac = (h.vmConfig(100)?.net0 ?? '').slice('virtio='.length, 'virtio='.length + 17).toLowerCase();
    await waitFor(async () => (neighbours(h).length > 0 ? true : undefined), 5000);
    expect(neighbours(h)).toEqual([[ip, '0x1', '0x2', mac, '*', 'vmbr0']]);
  });

  it('learns it at boot when the node is the guest gateway, and never where the node has no address', async () => {
    const bridges = (net: string) => [
      { name: 'vmbr0', network: `${net}.0.0/24`, gateway: `${net}.0.2`, hostAddress: `${net}.0.2` },
      { name: 'vmbr1', network: `${net}.200.0/24`, gateway: `${net}.200.1` },
    ];
    const { host: h, run } = await makeHost((net) => ({ nodes: [{ name: 'pve', bridges: bridges(net) }] }));
    const image = `--scsi0 local-lvm:0,import-from=${fixture.image}`;
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 ${image} && qm create 101 --net0 virtio,bridge=vmbr1 ${image} && qm start 100 && qm start 101`)).code).toBe(0);
    await waitFor(async () => (neighbours(h).length > 0 ? true : undefined), 5000);
    expect(neighbours(h).map((entry) => entry[0])).toEqual([guestIp(h, 100)]);
    const other = guestIp(h, 101) as string;
    expect(other).toMatch(new RegExp(`^127\\.${h.settings.addressBlock}\\.200\\.`));
    await sendProbe(other);
    expect(await waitFor(async () => readBanner(other, GUEST_SSH_PORT).catch(() => undefined), 5000)).toMatch(/^SSH-2\.0-/);
    await sleep(300);
    expect(neighbours(h).map((entry) => entry[5])).toEqual(['vmbr0']);
  });

  // §15.14: a static address may already belong to another machine that answers SSH.
  it('a foreign machine answers ARP and SSH at its address; a VM given the same address starts and stays silent there', async () => {
    const { host: h, run } = await makeHost();
    const ip = `127.${h.settings.addressBlock}.0.50`;
    const foreign = await h.addForeignMachine({ ip });
    expect(await readBanner(ip, GUEST_SSH_PORT)).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
    expect(neighbours(h)).toEqual([[ip, '0x1', '0x2', foreign.mac, '*', 'vmbr0']]);
    const created = await run(`qm create 100 --net0 virtio,bridge=vmbr0 --ide2 local-lvm:cloudinit --ipconfig0 ip=${ip}/24,gw=127.${h.settings.addressBlock}.0.1 --scsi0 local-lvm:0,import-from=${fixture.image}`);
    expect(created.code).toBe(0);
    expect((await run('qm start 100')).code).toBe(0);
    await sleep(800);
    expect(await readBanner(ip, GUEST_SSH_PORT)).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
    expect(neighbours(h).map((entry) => entry[3])).toEqual([foreign.mac]);
  });
});

describe('networks: VLANs and SDN VNets', () => {
  it("a tagged guest leases from its VLAN's network; the node lists a VLAN interface only where it has an address", async () => {
    const bridges = (net: string) => [{ name: 'vmbr0', vlanAware: true, network: `${net}.0.0/24`, gateway: `${net}.0.1`, hostAddress: `${net}.0.2`, vlans: [{ tag: 30, network: `${net}.30.0/24`, gateway: `${net}.30.1`, hostAddress: `${net}.30.2` }] }];
    const { host: h, run } = await makeHost((net) => ({ nodes: [{ name: 'pve', bridges: bridges(net) }] }));
    const net = `127.${h.settings.addressBlock}`;
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0,tag=42 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
    await sleep(800);
    expect(guestIp(h, 100)).toMatch(new RegExp(`^${net}\\.42\\.`));
    const vlans = JSON.parse((await run('pvesh get /nodes/pve/network --type vlan --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(vlans).toEqual([expect.objectContaining({ iface: 'vmbr0.30', type: 'vlan', 'vlan-id': '30', 'vlan-raw-device': 'vmbr0', cidr: `${net}.30.2/24` })]);
    const bridge = JSON.parse((await run('pvesh get /nodes/pve/network/vmbr0 --output-format json')).stdout) as Record<string, unknown>;
    expect(bridge).toMatchObject({ type: 'bridge', cidr: `${net}.0.2/24`, address: `${net}.0.2`, netmask: '24', gateway: `${net}.0.1` });
  });

  // pve-manager API2/Network.pm index (any_bridge adds get_local_vnets), pve-network SDN.pm get_local_vnets.
  it('network --type any_bridge lists SDN VNets, the interface file does not, and qm start takes a VNet', async () => {
    const { run } = await makeHost((net) => ({ sdnVnets: [{ name: 'vnet1', zone: 'zone1', network: `${net}.200.0/24`, gateway: `${net}.200.1` }] }));
    const list = JSON.parse((await run('pvesh get /nodes/pve/network --type any_bridge --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(list.map((entry) => [entry.iface, entry.type])).toEqual([['vmbr0', 'bridge'], ['vnet1', 'vnet']]);
    expect(list[1]).toEqual({ active: '1', comments: null, iface: 'vnet1', ipam: 0, type: 'vnet', vlanaware: 0 });
    expect((await run('pvesh get /nodes/pve/network/vnet1')).stderr).toContain('iface: interface does not exist');
    expect((await run(`qm create 100 --net0 virtio,bridge=vnet1 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
  });
});

describe('the guest process', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return !/^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('is a process of its own that qm stop ends, its sshd gone first', async () => {
    const { host: h, run } = await makeHost();
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
    const pid = Number(fs.readFileSync(`${h.paths.runDir}/100.pid`, 'utf8'));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(['bash', '-c', 'read -r _ || :', 'linus-sim-guest', h.root, '100', '']);
    const ip = guestIp(h, 100) as string;
    expect(await waitFor(() => readBanner(ip, GUEST_SSH_PORT).catch(() => undefined), 5000)).toMatch(/^SSH-2\.0-/);
    // Its sshd is gone before the process is: a start right after a stop finds the address free.
    expect(await run('qm stop 100 && qm start 100')).toMatchObject({ code: 0, stderr: '' });
    expect(await waitFor(() => readBanner(ip, GUEST_SSH_PORT).catch(() => undefined), 5000)).toMatch(/^SSH-2\.0-/);
    const again = Number(fs.readFileSync(`${h.paths.runDir}/100.pid`, 'utf8'));
    expect(alive(pid)).toBe(false);
    expect((await run('qm stop 100')).code).toBe(0);
    expect(alive(again)).toBe(false);
    await expect(readBanner(ip, GUEST_SSH_PORT)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('ends with the tool server that runs it: a host whose server is gone has no VM running', async () => {
    const { host: h, run } = await makeHost();
    expect((await run(`qm create 100 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.image} && qm start 100`)).code).toBe(0);
    const pid = Number(fs.readFileSync(`${h.paths.runDir}/100.pid`, 'utf8'));
    process.kill(Number(fs.readFileSync(h.paths.toolServerPid, 'utf8')), 'SIGKILL');
    await waitFor(() => (alive(pid) ? undefined : true), 5000);
    expect(await run('qm status 100')).toEqual({ stdout: 'status: stopped\n', stderr: '', code: 0 });
  });
});
