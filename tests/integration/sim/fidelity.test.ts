import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { uriEscape } from '../../../src/sim/tools/uri-escape.js';
import { fixtureDir, GUEST_SSH_PORT, localRunner, readBanner, waitFor } from '../../helpers/local-runner.js';
import { sshdAvailable } from '../../helpers/require-sshd.js';
import { embeddedRunner, sshdRunner } from '../../helpers/ssh-runners.js';

// The reference's strings and exit codes (../shared/reference/proxmox-cli.md), on the host shell
// directly; then the same answers through each way linus reaches a host: the embedded ssh2
// endpoint and a real sshd.
interface Runner {
  exec(cmd: string): Promise<{ stdout: string; stderr: string; code: number }>;
  close(): Promise<void>;
}
type MakeRunner = (host: SimHost) => Promise<Runner>;

const TRANSPORTS: Array<[string, MakeRunner]> = [
  ['embedded ssh2', embeddedRunner],
  // CI must have sshd (tests/helpers/require-sshd.ts); elsewhere the sshd runner is optional.
  ...(sshdAvailable() || process.env.CI ? [['OpenSSH sshd', sshdRunner] as [string, MakeRunner]] : []),
];

const fixture = fixtureDir();
afterAll(() => fs.rmSync(fixture.dir, { recursive: true, force: true }));

const USAGE_CREATE = 'qm create <vmid> [OPTIONS]\n';
const PVESH_USAGE = 'pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n';

describe('simulated PVE 8.4 host', () => {
  let host: SimHost;
  let runner: Runner;
  const run = (cmd: string) => runner.exec(cmd);

  beforeAll(async () => {
    // resourcesLagMs 0: the pvesh reads below check VMs made moments before (the lag has its own suite).
    host = await createSimHost({ settings: { bootDelayMs: 6000, agentPingTimeoutMs: 400, lockTimeoutMs: 1000, guestSshPort: GUEST_SSH_PORT, resourcesLagMs: 0 } });
    runner = localRunner(host);
  });
  afterAll(async () => {
    await runner?.close();
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('prints nothing at all for qm list without VMs', async () => {
    expect(await run('qm list')).toEqual({ stdout: '', stderr: '', code: 0 });
  });

  it('pveversion prints the 8.4 release line and rejects extra arguments', async () => {
    expect(await run('pveversion')).toEqual({ stdout: 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)\n', stderr: '', code: 0 });
    const verbose = await run('pveversion -v');
    expect(verbose.stdout.split('\n').slice(0, 2)).toEqual(['proxmox-ve: 8.4.0 (running kernel: 6.8.12-9-pve)', 'pve-manager: 8.4.1 (running version: 8.4.1/2a5fa54a8503f96d)']);
    expect(await run('pveversion extra')).toEqual({ stdout: '', stderr: 'USAGE: pveversion [--verbose]\n', code: 255 });
  });

  it('pvesh nextid: text 100, JSON the string "100", unknown path exit 1', async () => {
    expect(await run('pvesh get /cluster/nextid')).toEqual({ stdout: '100\n', stderr: '', code: 0 });
    expect((await run('pvesh get /cluster/nextid --output-format json')).stdout).toBe('"100"\n');
    expect((await run('pvesh get /cluster/nextid --vmid 150 --output-format json')).stdout).toBe('"150"\n');
    expect(await run('pvesh get /foo')).toEqual({ stdout: '', stderr: "No 'get' handler defined for '/foo'\n", code: 1 });
  });

  it('rejects a bad vmid and a bad DNS name with 400 Parameter verification failed', async () => {
    expect(await run('qm create 99')).toEqual({
      stdout: '',
      stderr: `400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\n${USAGE_CREATE}`,
      code: 255,
    });
    expect((await run('qm create 0100')).stderr).toContain('vmid: invalid format - value does not look like a valid VM ID');
    expect(await run('qm create 100 --name my_vm')).toEqual({
      stdout: '',
      stderr: `400 Parameter verification failed.\nname: invalid format - value does not look like a valid DNS name\n\n${USAGE_CREATE}`,
      code: 255,
    });
    expect((await run('qm create 100 --scsihw bogus')).stderr).toContain(
      "scsihw: value 'bogus' does not have a value in the enumeration 'lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi'",
    );
    expect(host.listVms()).toEqual([]);
  });

  it('checks storages before the worker', async () => {
    expect(await run('qm create 100 --scsi0 nosuch:8')).toEqual({ stdout: '', stderr: "storage 'nosuch' does not exist\n", code: 255 });
    expect((await run('qm create 100 --scsi0 local:8')).stderr).toBe(
      `400 Parameter verification failed.\nstorage: storage 'local' does not support vm images\n${USAGE_CREATE}`,
    );
    expect((await run('qm create 100 --scsi0 local-lvm:8,import-from=/x.qcow2')).stderr).toBe(
      `400 Parameter verification failed.\nscsi0: 'import-from' requires special syntax - use <storage ID>:0,import-from=<source>\n${USAGE_CREATE}`,
    );
  });

  it('fails the worker with exit 255 and unlinks the config when the import source is missing', async () => {
    expect(await run('qm create 100 --scsi0 local-lvm:0,import-from=/nonexistent/img.qcow2')).toEqual({
      stdout: '',
      stderr: "unable to create VM 100 - can't find file '/nonexistent/img.qcow2'\n",
      code: 255,
    });
    expect(fs.existsSync(host.paths.vmConfig('pve', 100))).toBe(false);
  });

  it('creates a VM from an image with a cloud-init drive, as qm create prints it', async () => {
    const result = await run(
      `qm create 100 --name web01 --memory 2048 --cores 2 --net0 virtio,bridge=vmbr0 --scsihw virtio-scsi-pci ` +
        `--scsi0 local-lvm:0,import-from=${fixture.image} --ide2 local-lvm:cloudinit --agent enabled=1 ` +
        `--sshkey ${fixture.pubkey} --ciuser ubuntu --ipconfig0 ip=dhcp --tags web,linus --description 'first line\nsecond: line' --serial0 socket --vga serial0`,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '  Logical volume "vm-100-cloudinit" created.',
      "ide2: successfully created disk 'local-lvm:vm-100-cloudinit,media=cdrom'",
      '  Logical volume "vm-100-disk-0" created.',
    ]);
    expect(lines[3]).toBe('transferred 0.0 B of 2.2 GiB (0.00%)');
    expect(lines).toContain('transferred 2.2 GiB of 2.2 GiB (100.00%)');
    expect(lines.at(-2)).toBe("scsi0: successfully created disk 'local-lvm:vm-100-disk-0,size=2252M'");

    const raw = fs.readFileSync(host.paths.vmConfig('pve', 100), 'utf8');
    const [comments, keys] = [raw.split('\n').filter((line) => line.startsWith('#')), raw.split('\n').filter((line) => /^[a-z]/.test(line))];
    expect(raw.startsWith('#first line\n#second%3A line\n')).toBe(true);
    expect(comments).toHaveLength(2);
    expect(keys.map((line) => line.split(':')[0])).toEqual([...keys.map((line) => line.split(':')[0])].sort());
    const config = host.vmConfig(100) ?? {};
    expect(config.lock).toBeUndefined();
    expect(config.net0).toMatch(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$/);
    expect(config.sshkeys).toBe(uriEscape(fs.readFileSync(fixture.pubkey, 'utf8')));
    expect(config.sshkeys).toMatch(/%20user%40host%0A$/);
    // create_vm stores tags as passed before qemu-server 9.1.17 (492347ae added get_unique_tags).
    expect(config.tags).toBe('web,linus');
    expect(config.boot).toBe('order=scsi0;ide2;net0');
    expect(config.scsi0).toBe('local-lvm:vm-100-disk-0,size=2252M');
    expect(config.meta).toMatch(/^creation-qemu=9\.2\.0,ctime=\d+$/);
    expect(config.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(config.vmgenid).toMatch(/^[0-9a-f-]{36}$/);
    expect(host.volumes()).toEqual([
      { volid: 'local-lvm:vm-100-cloudinit', storage: 'local-lvm', vmid: 100, size: 4 * 1024 * 1024 },
      { volid: 'local-lvm:vm-100-disk-0', storage: 'local-lvm', vmid: 100, size: 2252 * 1024 * 1024 },
    ]);
  });

  it('refuses a taken ID, in qm create and in nextid --vmid', async () => {
    expect(await run('qm create 100 --name again')).toEqual({ stdout: '', stderr: "unable to create VM 100 - VM 100 already exists on node 'pve'\n", code: 255 });
    expect(await run('pvesh get /cluster/nextid --vmid 100')).toEqual({
      stdout: '',
      stderr: `400 Parameter verification failed.\nvmid: VM 100 already exists\n${PVESH_USAGE}`,
      code: 255,
    });
    expect((await run('pvesh get /cluster/nextid')).stdout).toBe('101\n');
  });

  it('lays out qm list with printf widths and trailing spaces', async () => {
    expect(await run('qm list')).toEqual({
      stdout:
        '      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n' +
        '       100 web01                stopped    2048               2.20 0         \n',
      stderr: '',
      code: 0,
    });
  });

  it('qm set prints the update line with sorted keys and a hidden password', async () => {
    const result = await run('qm set 100 --nameserver 1.1.1.1 --cipassword s3cret --searchdomain example.com');
    expect(result).toEqual({ stdout: 'update VM 100: -cipassword <hidden> -nameserver 1.1.1.1 -searchdomain example.com\n', stderr: '', code: 0 });
    expect(host.vmConfig(100)?.cipassword).toMatch(/^\$5\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{43}$/);
    expect((await run('qm config 100')).stdout).toContain('cipassword: **********\n');
    const keys = await run(`qm set 100 --sshkeys ${fixture.pubkey}`);
    expect(keys.stdout).toBe(`update VM 100: -sshkeys ${uriEscape(fs.readFileSync(fixture.pubkey, 'utf8'))}\n`);
  });

  it('qm set reports a missing key file (exit 2), a bad ipconfig and an invalid key', async () => {
    expect(await run('qm set 100 --sshkeys /nonexistent.pub')).toEqual({ stdout: '', stderr: "can't open '/nonexistent.pub' - No such file or directory\n", code: 2 });
    expect(await run('qm set 100 --ipconfig0 ip=10.0.0.5')).toEqual({
      stdout: '',
      stderr:
        '400 Parameter verification failed.\nipconfig0: invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n\nqm set <vmid> [OPTIONS]\n',
      code: 255,
    });
    expect(await run(`echo not-a-key > /tmp/bad-$$.pub && qm set 100 --sshkeys /tmp/bad-$$.pub; rc=$?; rm -f /tmp/bad-$$.pub; exit $rc`)).toEqual({
      stdout: '',
      stderr: 'SSH public key validation error\n',
      code: 255,
    });
    expect(await run('qm set 100')).toEqual({ stdout: '', stderr: 'no options specified\n', code: 255 });
  });

  it('qm status and a missing config (exit 2)', async () => {
    expect(await run('qm status 100')).toEqual({ stdout: 'status: stopped\n', stderr: '', code: 0 });
    expect(await run('qm status 999')).toEqual({ stdout: '', stderr: "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n", code: 2 });
    expect((await run('qm config 999')).code).toBe(2);
    expect((await run('qm status 100 --verbose')).stdout).toContain('maxmem: 2147483648\n');
  });

  it('refuses to touch a VM with lock: create', async () => {
    fs.writeFileSync(host.paths.vmConfig('pve', 101), 'lock: create\n');
    expect(await run('qm set 101 --memory 1024')).toEqual({ stdout: '', stderr: 'VM is locked (create)\n', code: 255 });
    expect(await run('qm start 101')).toEqual({ stdout: '', stderr: 'VM is locked (create)\n', code: 255 });
    expect(host.locks()).toEqual(['101: create']);
    expect(await run('qm unlock 101')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(host.locks()).toEqual([]);
    fs.rmSync(host.paths.vmConfig('pve', 101));
  });

  it('qm resize: exit 0 even on failure, no output for the same size, relative growth', async () => {
    expect(await run('qm resize 100 scsi0 1G')).toEqual({ stdout: '', stderr: 'shrinking disks is not supported\n', code: 0 });
    expect(await run('qm resize 100 scsi9 +1G')).toEqual({ stdout: '', stderr: "disk 'scsi9' does not exist\n", code: 0 });
    expect(await run('qm resize 100 scsi0 2252M')).toEqual({ stdout: '', stderr: '', code: 0 });
    const grow = await run('qm disk resize 100 scsi0 +10G');
    expect(grow.code).toBe(0);
    expect(host.vmConfig(100)?.scsi0).toBe('local-lvm:vm-100-disk-0,size=12492M');
  });

  it('qm importdisk prints the 8.3+ success line and adds unused0', async () => {
    const result = await run(`qm importdisk 100 ${fixture.image} local-lvm`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^importing disk '${fixture.image}' to VM 100 \\.\\.\\.\n`));
    expect(result.stdout.endsWith("unused0: successfully imported disk 'local-lvm:vm-100-disk-1'\n")).toBe(true);
    expect(host.vmConfig(100)?.unused0).toBe('local-lvm:vm-100-disk-1');
    expect(await run(`qm importdisk 100 /nonexistent.img local-lvm`)).toEqual({ stdout: '', stderr: '/nonexistent.img: non-existent or non-regular file\n', code: 2 });
    expect((await run(`qm importdisk 100 ${fixture.image} local`)).stderr).toBe('storage local does not support vm images\n');
  });

  it('guest agent errors come in the reference order', async () => {
    expect((await run('qm create 102 --name noagent --net0 virtio,bridge=vmbr0')).code).toBe(0);
    expect(await run('qm guest cmd 102 ping')).toEqual({ stdout: '', stderr: 'No QEMU guest agent configured\n', code: 255 });
    expect(await run('qm guest cmd 100 ping')).toEqual({ stdout: '', stderr: 'VM 100 is not running\n', code: 255 });
    expect(await run('qm agent 100 bogus')).toMatchObject({ code: 255 });
    expect((await run('qm agent 100 bogus')).stderr).toContain("command: value 'bogus' does not have a value in the enumeration 'fsfreeze-freeze, ");
    expect(await run('qm guest cmd 999 ping')).toEqual({ stdout: '', stderr: "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n", code: 2 });
  });

  // Reference §15.3/§15.5: an Ubuntu cloud image has no qemu-guest-agent, so an enabled agent
  // never answers; its sshd does; the node's neighbour table learns it only once the node sent to it.
  it('starts an Ubuntu guest: cloud-init ISO line, SSH banner, agent never, neighbour entry only after contact', async () => {
    expect(await run('qm start 100')).toEqual({ stdout: 'generating cloud-init ISO\n', stderr: '', code: 0 });
    expect(await run('qm start 100')).toEqual({ stdout: '', stderr: 'VM 100 already running\n', code: 255 });
    const ip = JSON.parse(fs.readFileSync(`${host.paths.guestsDir}/100.json`, 'utf8')).ip as string;
    expect(ip).toMatch(new RegExp(`^127\\.${host.settings.addressBlock}\\.0\\.`));
    expect(fs.readFileSync(host.paths.neighTable, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    const banner = await waitFor(async () => readBanner(ip, GUEST_SSH_PORT).catch(() => undefined), 15_000);
    expect(banner).toBe('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n');
    const mac = (host.vmConfig(100)?.net0 ?? '').slice('virtio='.length, 'virtio='.length + 17).toLowerCase();
    expect(fs.readFileSync(host.paths.neighTable, 'utf8').split('\n')[1]?.split(/\s+/)).toEqual([ip, '0x1', '0x2', mac, '*', 'vmbr0']);
    expect(await run('qm guest cmd 100 ping')).toEqual({ stdout: '', stderr: 'QEMU guest agent is not running\n', code: 255 });
    expect(await run('qm status 100')).toEqual({ stdout: 'status: running\n', stderr: '', code: 0 });
  });

  // An image that ships the agent (RHEL-family GenericCloud, §15.3) answers through it once booted.
  it('starts a Rocky guest on x86-64-v2-AES: the agent reports lo, docker0, then eth0 by MAC', async () => {
    const created = await run(`qm create 104 --name rocky --cpu x86-64-v2-AES --agent enabled=1 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.agentImage}`);
    expect(created.code).toBe(0);
    expect((await run('qm start 104')).code).toBe(0);
    expect(await run('qm guest cmd 104 ping')).toEqual({ stdout: '', stderr: 'QEMU guest agent is not running\n', code: 255 });
    const answer = await waitFor(async () => {
      const result = await run('qm guest cmd 104 network-get-interfaces');
      return result.code === 0 ? result.stdout : undefined;
    }, 15_000);
    expect(answer).toMatch(/^\[\n {3}\{\n {6}"hardware-address" : "00:00:00:00:00:00",\n/);
    const interfaces = JSON.parse(answer) as Array<{ name: string; 'hardware-address': string; 'ip-addresses': Array<{ 'ip-address': string; prefix: number }> }>;
    expect(interfaces.map((entry) => entry.name)).toEqual(['lo', 'docker0', 'eth0']);
    expect(interfaces[1]?.['ip-addresses'][0]).toMatchObject({ 'ip-address': '172.17.0.1', prefix: 16 });
    const mac = (host.vmConfig(104)?.net0 ?? '').slice('virtio='.length, 'virtio='.length + 17).toLowerCase();
    expect(interfaces[2]?.['hardware-address']).toBe(mac);
    expect(interfaces[2]?.['ip-addresses'][0]).toMatchObject({ 'ip-address': expect.stringMatching(new RegExp(`^127\\.${host.settings.addressBlock}\\.0\\.\\d+$`)), prefix: 24 });
    const viaPvesh = await run('pvesh get /nodes/pve/qemu/104/agent/network-get-interfaces --output-format json');
    expect(JSON.parse(viaPvesh.stdout)).toEqual({ result: interfaces });
    expect((await run('qm guest cmd 104 get-osinfo')).stdout).toContain('"pretty-name" : "Rocky Linux 9.5 (Blue Onyx)"');
    expect((await run('qm stop 104 && qm destroy 104')).code).toBe(0);
  });

  it('keeps non-hotpluggable changes pending on a running VM', async () => {
    expect((await run('qm set 100 --cores 4')).code).toBe(0);
    expect((await run('qm config 100 --current')).stdout).toContain('cores: 2\n');
    expect((await run('qm config 100')).stdout).toContain('cores: 4\n');
    expect(fs.readFileSync(host.paths.vmConfig('pve', 100), 'utf8')).toContain('\n[PENDING]\ncores: 4\n');
  });

  // qemu-server 9.2.6 QemuServer.pm vm_start_nolock l.5598-5601: what waits in [PENDING] becomes
  // current when the VM starts (so a reboot applies it).
  it('applies the pending changes when the VM starts again', async () => {
    expect((await run('qm create 105 --cores 1 --memory 512 && qm start 105 && qm set 105 --cores 3 --memory 1024')).code).toBe(0);
    expect((await run('qm config 105 --current')).stdout).toContain('cores: 1\n');
    expect((await run('qm stop 105 && qm start 105')).code).toBe(0);
    const current = (await run('qm config 105 --current')).stdout;
    expect(current).toContain('cores: 3\n');
    expect(current).toContain('memory: 1024\n');
    expect(fs.readFileSync(host.paths.vmConfig('pve', 105), 'utf8')).not.toContain('[PENDING]');
    expect((await run('qm stop 105 && qm destroy 105')).code).toBe(0);
  });

  it('refuses to destroy a running VM; stop and shutdown', async () => {
    expect(await run('qm destroy 100')).toEqual({ stdout: '', stderr: 'VM 100 is running - destroy failed\n', code: 255 });
    expect(await run('qm shutdown 102')).toEqual({ stdout: '', stderr: 'VM 102 not running\n\n', code: 0 });
    expect(await run('qm stop 100')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await run('qm stop 100')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await run('qm stop 999')).toEqual({ stdout: '', stderr: "unable to find configuration file for VM 999 on node 'pve'\n", code: 2 });
    expect(await run('qm status 100')).toEqual({ stdout: 'status: stopped\n', stderr: '', code: 0 });
    expect(fs.readFileSync(host.paths.neighTable, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('fails qm start on a missing bridge with the tap script and QEMU lines', async () => {
    expect((await run('qm create 103 --net0 virtio,bridge=vmbr9')).code).toBe(0);
    const result = await run('qm start 103');
    expect(result.stdout.split('\n')[0]).toBe("bridge 'vmbr9' does not exist");
    expect(result.stderr).toBe('start failed: QEMU exited with code 1\n');
    expect(result.code).toBe(255);
  });

  it('destroys a VM and frees its volumes', async () => {
    const result = await run('qm destroy 100 --purge');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  Logical volume "vm-100-disk-0" successfully removed.\n');
    expect(result.stdout).toContain('purging VM 100 from related configurations..\n');
    expect(host.volumes().filter((volume) => volume.vmid === 100)).toEqual([]);
    expect(host.vmConfig(100)).toBeUndefined();
  });

  it('answers pvesh reads with the reference keys', async () => {
    const resources = JSON.parse((await run('pvesh get /cluster/resources --type vm --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(resources.map((entry) => entry.vmid)).toEqual([102, 103]);
    expect(resources[0]).toMatchObject({ id: 'qemu/102', type: 'qemu', node: 'pve', status: 'stopped', template: 0 });
    const status = JSON.parse((await run('pvesh get /nodes/pve/status --output-format json')).stdout) as Record<string, unknown>;
    expect(status.pveversion).toBe('pve-manager/8.4.1/2a5fa54a8503f96d');
    expect(Object.keys(status.memory as object).sort()).toEqual(['free', 'total', 'used']);
    expect(await run('pvesh get /nodes/pve/network/vmbr9')).toEqual({
      stdout: '',
      stderr: `400 Parameter verification failed.\niface: interface does not exist\n${PVESH_USAGE}`,
      code: 255,
    });
    expect((await run('pvesh get /nodes/pve/storage/nosuch/status')).stderr).toBe(`400 Parameter verification failed.\nstorage: No such storage.\n${PVESH_USAGE}`);
    const lvm = JSON.parse((await run('pvesh get /nodes/pve/storage/local-lvm/status --output-format json')).stdout) as Record<string, number>;
    expect(lvm).toMatchObject({ active: 1, enabled: 1, total: 500 * 1024 ** 3, type: 'lvmthin' });
    const bridges = JSON.parse((await run('pvesh get /nodes/pve/network --type any_bridge --output-format json')).stdout) as Array<{ iface: string }>;
    expect(bridges.map((entry) => entry.iface)).toEqual(['vmbr0']);
  });

  it('prints the usage for an unknown qm command (exit 255) and logs every call', async () => {
    const result = await run('qm foo');
    expect(result.code).toBe(255);
    expect(result.stderr.startsWith("ERROR: unknown command 'qm foo'\nUSAGE: qm <COMMAND> [ARGS] [OPTIONS]\n")).toBe(true);
    const last = host.calls().at(-1);
    expect(last).toMatchObject({ tool: 'qm', argv: ['foo'], exitCode: 255, node: 'pve' });
    expect(Number.isNaN(Date.parse(last?.time ?? ''))).toBe(false);
  });
});

// What a transport could change: stdout and stderr apart, exit codes (2, 255, a signal's), bytes
// without a trailing newline, non-ASCII text, a call that waits on a lock, a guest that starts.
describe.each(TRANSPORTS)('the same answers over %s', (_name, makeRunner) => {
  let host: SimHost;
  let runner: Runner;
  const COMMANDS = [
    'qm list',
    'pveversion extra',
    'pvesh get /cluster/nextid --output-format json',
    'pvesh get /foo',
    'qm create 99',
    'qm status 999',
    'qm config 100',
    'qm set 100 --lock backup; qm start 100; qm unlock 100',
    'printf partial; kill -TERM $$',
  ];

  beforeAll(async () => {
    host = await createSimHost({ settings: { bootDelayMs: 200, agentPingTimeoutMs: 200, lockTimeoutMs: 500, guestSshPort: GUEST_SSH_PORT, resourcesLagMs: 0 } });
    runner = await makeRunner(host);
    expect((await localRunner(host).exec("qm create 100 --name web --description 'café'")).code).toBe(0);
  });
  afterAll(async () => {
    await runner?.close();
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('gives every command the stdout, stderr and exit code the host shell gives it', async () => {
    const local = localRunner(host);
    for (const command of COMMANDS) expect(await runner.exec(command), command).toEqual(await local.exec(command));
  });

  it('starts a guest', async () => {
    expect(await runner.exec('qm start 100 && qm status 100')).toEqual({ stdout: 'status: running\n', stderr: '', code: 0 });
  });
});

describe.each([
  ['8.2', "Successfully imported disk as 'unused0:local-lvm:vm-100-disk-0'\n", 'pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-4-pve)\n'],
  ['9.0', "unused0: successfully imported disk 'local-lvm:vm-100-disk-0'\n", 'pve-manager/9.0.10/deb1ca707ec72a89 (running kernel: 6.14.11-2-pve)\n'],
  ['9.1', "unused0: successfully imported disk 'local-lvm:vm-100-disk-0'\n", 'pve-manager/9.1.1/f4d3f125ffae50e9 (running kernel: 6.17.2-1-pve)\n'],
] as const)('PVE %s profile', (version, importLine, versionLine) => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost({ settings: { version } });
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('prints its own importdisk line and pveversion', async () => {
    const runner = localRunner(host);
    expect((await runner.exec('qm create 100')).code).toBe(0);
    const result = await runner.exec(`qm importdisk 100 ${fixture.image} local-lvm`);
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith(importLine)).toBe(true);
    expect((await runner.exec('pveversion')).stdout).toBe(versionLine);
    const status = JSON.parse((await runner.exec('pvesh get /nodes/pve/status --output-format json')).stdout) as { memory: Record<string, number> };
    expect('available' in status.memory).toBe(version.startsWith('9'));
  });
});

// pve-storage 9.1.7 `PVE/CLI/pvesm.pm` (`$print_content` l.197-240, `free` l.656 without
// `$upid_exit`), `PVE/API2/Storage/Content.pm` (`index`, `delete` l.453: a worker printing
// `Removed volume`), `Storage.pm` `volume_list` (content types of the storage, sorted by lowercased
// volid); qemu-server `destroy_vm` (`--skiplock` passes a `lock: create` config).
describe('pvesm list and free, and a half-created VM removed by hand', () => {
  let host: SimHost;
  let run: (cmd: string) => Promise<{ stdout: string; stderr: string; code: number }>;
  beforeAll(async () => {
    host = await createSimHost();
    run = localRunner(host).exec;
  });
  afterAll(async () => {
    await host?.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  // Perl `cmp` on lowercased volids: `vm-100-...` sorts before `vm-1000-...` ('-' < '0').
  it('lists volumes with a VMID first, printf widths, and only the content types the storage has', async () => {
    expect((await run('qm create 100 --scsi0 local-lvm:1 --ide2 local-lvm:cloudinit && qm create 1000 --scsi0 local-lvm:2')).code).toBe(0);
    expect(await run('pvesm list local-lvm')).toEqual({
      stdout:
        'Volid                      Format  Type            Size VMID\n' +
        'local-lvm:vm-100-cloudinit raw     images       4194304 100\n' +
        'local-lvm:vm-100-disk-0    raw     images    1073741824 100\n' +
        'local-lvm:vm-1000-disk-0   raw     images    2147483648 1000\n',
      stderr: '',
      code: 0,
    });
    expect((await run('pvesm list local-lvm --vmid 100 --content images')).stdout).toBe(
      'Volid                      Format  Type            Size VMID\n' +
        'local-lvm:vm-100-cloudinit raw     images       4194304 100\n' +
        'local-lvm:vm-100-disk-0    raw     images    1073741824 100\n',
    );
    // The stock `local` has no images content: nothing but the header.
    expect(await run('pvesm list local --content images')).toEqual({ stdout: 'Volid Format  Type      Size VMID\n', stderr: '', code: 0 });
    expect(await run('pvesm list local-lvm --content disks')).toEqual({
      stdout: '',
      stderr: "400 Parameter verification failed.\ncontent: invalid format - invalid content type 'disks'\n\npvesm list <storage> [OPTIONS]\n",
      code: 255,
    });
    expect(await run('pvesm list nosuch')).toEqual({ stdout: '', stderr: "storage 'nosuch' does not exist\n", code: 255 });
  });

  it('frees a volume in a worker: exit 0 even when there is nothing to free', async () => {
    expect(await run('pvesm free local-lvm:vm-1000-disk-0')).toEqual({
      stdout: '  Logical volume "vm-1000-disk-0" successfully removed.\nRemoved volume \'local-lvm:vm-1000-disk-0\'\n',
      stderr: '',
      code: 0,
    });
    expect(host.volumes().map((volume) => volume.volid)).not.toContain('local-lvm:vm-1000-disk-0');
    expect(await run('pvesm free local-lvm:vm-1000-disk-0')).toEqual({ stdout: "Removed volume 'local-lvm:vm-1000-disk-0'\n", stderr: '', code: 0 });
    expect(await run('pvesm free local:1000/vm-1000-disk-0.raw')).toEqual({
      stdout: "disk image '/var/lib/vz/images/1000/vm-1000-disk-0.raw' does not exist\nRemoved volume 'local:1000/vm-1000-disk-0.raw'\n",
      stderr: '',
      code: 0,
    });
    expect(await run('pvesm free vm-1000-disk-0')).toEqual({
      stdout: '',
      stderr: '400 Parameter verification failed.\nvolume: no storage specified - incomplete volume ID\npvesm free <volume> [OPTIONS]\n',
      code: 255,
    });
    expect(await run('pvesm free local-lvm:disk-1')).toEqual({ stdout: '', stderr: "unable to parse lvm volume name 'disk-1'\n", code: 255 });
  });

  it('destroys a lock: create config only with --skiplock 1', async () => {
    fs.writeFileSync(host.paths.vmConfig('pve', 101), 'lock: create\n');
    expect(await run('qm destroy 101 --purge 1')).toEqual({ stdout: '', stderr: 'VM is locked (create)\n', code: 255 });
    expect(await run('qm destroy 101 --skiplock 1 --purge 1')).toEqual({ stdout: 'purging VM 101 from related configurations..\n', stderr: '', code: 0 });
    expect(host.vmConfig(101)).toBeUndefined();
    expect(host.locks()).toEqual([]);
  });
});

describe('a simulated two-node cluster', () => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost({ settings: { nodes: [{ name: 'pve' }, { name: 'pve2' }] } });
  });
  afterAll(async () => host?.dispose());

  it('names each node after its host name (uname -n)', async () => {
    expect((await localRunner(host, 'pve').exec('uname -n')).stdout).toBe('pve\n');
    expect((await localRunner(host, 'pve2').exec('uname -n')).stdout).toBe('pve2\n');
    expect((await localRunner(host, 'pve2').exec('uname -s')).stdout).toBe('Linux\n');
  });

  it('counts the use of a local (not shared) storage per node', async () => {
    const storages = async (node: string) =>
      (JSON.parse((await localRunner(host, node).exec('pvesh get /cluster/resources --type storage --output-format json')).stdout) as Array<{ id: string; disk: number }>)
        .filter((entry) => entry.id.endsWith('/local-lvm'))
        .map(({ id, disk }) => [id, disk]);
    const before = await storages('pve');
    expect((await localRunner(host, 'pve2').exec('qm create 200 --scsi0 local-lvm:3')).code).toBe(0);
    const GiB = 1024 ** 3;
    const after = await storages('pve');
    expect(after).toEqual([before[0], [before[1]?.[0], (before[1]?.[1] as number) + 3 * GiB]]);
    expect(after.map(([id]) => id)).toEqual(['storage/pve/local-lvm', 'storage/pve2/local-lvm']);
  });
});

// §15.6: `agent: 1` in the config while the guest's agent never answers. qemu-server 8.2.4
// PVE/QemuServer.pm _do_vm_stop l.6253-6254 sends guest-shutdown on the config alone and dies
// `VM quit/powerdown failed` (l.6293) once the QGA command timed out; --forceStop 1 warns
// (l.6290) and kills it. From 8.3.4 (commit 03614a89; 8.3.13 l.6233) qga_check_running warns
// (l.7953) and ACPI shuts the guest down. vm_reboot (8.2.4 l.6336) uses the same path, without force.
describe.each(['8.2', '8.4', '9.1'] as const)('PVE %s: shutdown and reboot with the agent enabled but silent', (version) => {
  let host: SimHost;
  const run = (cmd: string) => localRunner(host).exec(cmd);
  const timed = async (cmd: string) => {
    const started = Date.now();
    const result = await run(cmd);
    return { ...result, seconds: (Date.now() - started) / 1000 };
  };
  const state = async () => (await run('qm status 100')).stdout;
  const AGENT_WARNING = "QEMU Guest Agent is not running - VM 100 qmp command 'guest-ping' failed - got timeout\n";

  beforeAll(async () => {
    host = await createSimHost({ settings: { version, bootDelayMs: 300, agentPingTimeoutMs: 300, guestSshPort: GUEST_SSH_PORT } });
    // An image that ships the agent, so that it answers once the fault is cleared.
    expect((await run(`qm create 100 --agent 1 --cpu x86-64-v2-AES --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:0,import-from=${fixture.agentImage} && qm start 100`)).code).toBe(0);
    host.setFaults({ agent: 'never' });
  });
  afterAll(async () => {
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  if (version === '8.2') {
    it('qm shutdown waits the whole --timeout, then fails with exit 255 and leaves the VM running (l.6253, l.6293)', async () => {
      const result = await timed('qm shutdown 100 --timeout 2');
      expect(result).toMatchObject({ stdout: '', stderr: 'VM quit/powerdown failed\n', code: 255 });
      expect(result.seconds).toBeGreaterThanOrEqual(2);
      expect(await state()).toBe('status: running\n');
    });

    it('qm reboot fails the same way (vm_reboot l.6336 → _do_vm_stop without force)', async () => {
      const result = await timed('qm reboot 100 --timeout 2');
      expect(result).toMatchObject({ stdout: '', stderr: 'VM quit/powerdown failed\n', code: 255 });
      expect(result.seconds).toBeGreaterThanOrEqual(2);
      expect(await state()).toBe('status: running\n');
    });

    it('qm shutdown --forceStop 1 warns on stdout after the timeout and stops it (l.6290)', async () => {
      const result = await timed('qm shutdown 100 --timeout 2 --forceStop 1');
      expect(result).toMatchObject({ stdout: 'VM quit/powerdown failed - terminating now with SIGTERM\n', stderr: '', code: 0 });
      expect(result.seconds).toBeGreaterThanOrEqual(2);
      expect(await state()).toBe('status: stopped\n');
    });

    it('an agent that answers shuts the guest down through guest-shutdown', async () => {
      host.clearFaults();
      expect((await run('qm start 100')).code).toBe(0);
      await waitFor(async () => ((await run('qm guest cmd 100 ping')).code === 0 ? true : undefined), 15_000);
      expect(await run('qm shutdown 100 --timeout 2')).toEqual({ stdout: '', stderr: '', code: 0 });
      expect(await state()).toBe('status: stopped\n');
    });
  } else {
    it('qm shutdown warns that the agent is not running and shuts down by ACPI (03614a89)', async () => {
      expect(await run('qm shutdown 100 --timeout 2')).toEqual({ stdout: AGENT_WARNING, stderr: '', code: 0 });
      expect(await state()).toBe('status: stopped\n');
    });

    it('qm reboot does the same and the VM runs again', async () => {
      expect((await run('qm start 100')).code).toBe(0);
      expect(await run('qm reboot 100 --timeout 2')).toEqual({ stdout: `${AGENT_WARNING}`, stderr: '', code: 0 });
      expect(await state()).toBe('status: running\n');
    });
  }
});

// §15.7: destroy_vm (qemu-server 9.2.6 PVE/QemuServer.pm l.1839-1927) frees the volumes the config
// references (l.1874-1905); --destroy-unreferenced-disks 1 then lists the VM's volumes on every
// enabled storage with images content (vdisk_list, l.1908, not in an eval), which activates each
// storage first (pve-storage 9.1.7 Storage.pm vdisk_list l.1221-1253, activate_storage l.1352-1355).
describe('qm destroy and the volumes it frees', () => {
  let host: SimHost;
  const run = (cmd: string) => localRunner(host).exec(cmd);
  const volids = (vmid: number) => host.volumes().filter((volume) => volume.vmid === vmid).map((volume) => volume.volid).sort();

  beforeAll(async () => {
    host = await createSimHost({});
    fs.appendFileSync(host.paths.storageCfg, '\nnfs: nfs1\n\texport /export/pve\n\tpath /mnt/pve/nfs1\n\tserver 10.0.0.9\n\tcontent images\n');
  });
  afterAll(async () => {
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('frees exactly the referenced volumes without the flag: disks, cloud-init, unusedN; not an unreferenced one (l.1874-1905)', async () => {
    expect((await run('qm create 100 --scsi0 local-lvm:1 --ide2 local-lvm:cloudinit')).code).toBe(0);
    expect((await run(`qm importdisk 100 ${fixture.image} local-lvm`)).code).toBe(0);
    expect((await run('pvesm alloc local-lvm 100 vm-100-disk-7 1G && pvesm alloc nfs1 100 vm-100-disk-0.raw 1G')).code).toBe(0);
    expect(host.vmConfig(100)).toMatchObject({ scsi0: 'local-lvm:vm-100-disk-0,size=1G', unused0: 'local-lvm:vm-100-disk-1' });
    const result = await run('qm destroy 100 --purge 1');
    expect(result).toMatchObject({ stderr: '', code: 0 });
    for (const name of ['vm-100-disk-0', 'vm-100-cloudinit', 'vm-100-disk-1']) expect(result.stdout).toContain(`  Logical volume "${name}" successfully removed.\n`);
    expect(volids(100)).toEqual(['local-lvm:vm-100-disk-7', 'nfs1:100/vm-100-disk-0.raw']);
    expect(host.vmConfig(100)).toBeUndefined();
  });

  it('a storage that is not online: pvesm status inactive, /cluster/resources unknown, allocation refused', async () => {
    host.setFaults({ storageOffline: ['nfs1'] });
    const status = (await run('pvesm status')).stdout.split('\n').find((line) => line.startsWith('nfs1 '));
    expect(status?.split(/\s+/).slice(0, 3)).toEqual(['nfs1', 'nfs', 'inactive']);
    const resources = JSON.parse((await run('pvesh get /cluster/resources --type storage --output-format json')).stdout) as Array<{ storage: string; status: string }>;
    expect(resources.find((entry) => entry.storage === 'nfs1')?.status).toBe('unknown');
    expect(await run('pvesm alloc nfs1 100 vm-100-disk-1.raw 1G')).toEqual({ stdout: '', stderr: "storage 'nfs1' is not online\n", code: 255 });
  });

  it('--destroy-unreferenced-disks 1 with a storage not online dies after freeing the referenced disks and leaves the config (l.1908)', async () => {
    expect((await run('qm create 101 --scsi0 local-lvm:1 --ide2 local-lvm:cloudinit --tags linus')).code).toBe(0);
    const before = host.vmConfig(101);
    const result = await run('qm destroy 101 --purge 1 --destroy-unreferenced-disks 1');
    expect(result.stderr).toBe("storage 'nfs1' is not online\n");
    expect(result.code).toBe(255);
    expect(result.stdout).toContain('  Logical volume "vm-101-disk-0" successfully removed.\n');
    expect(result.stdout).not.toContain('purging VM');
    expect(host.vmConfig(101)).toEqual(before);
    expect(volids(101)).toEqual([]);
    // Without the flag the same VM goes: nothing asks the offline storage.
    expect((await run('qm destroy 101 --purge 1')).code).toBe(0);
    expect(host.vmConfig(101)).toBeUndefined();
  });
});

// §15.11: `qm set --tags` goes through get_unique_tags (qemu-server 8.2.4 API2/Qemu.pm l.2012,
// pve-guest-common GuestHelpers.pm get_unique_tags): split_list, sorted case-insensitively,
// lowercased and de-duplicated unless datacenter.cfg has `tag-style: case-sensitive=1`; with
// `ordering=config` the order given is kept. `qm create` stores them as passed (see above).
describe('tags as Proxmox stores them', () => {
  let host: SimHost;
  const run = (cmd: string) => localRunner(host).exec(cmd);

  beforeAll(async () => {
    host = await createSimHost({});
    expect((await run("qm create 100 --tags 'Linus;LINUS-r1 web'")).code).toBe(0);
  });
  afterAll(async () => {
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('qm create keeps the tags as given, and /cluster/resources shows them so', async () => {
    expect(host.vmConfig(100)?.tags).toBe('Linus;LINUS-r1 web');
    const resources = JSON.parse((await run('pvesh get /cluster/resources --type vm --output-format json')).stdout) as Array<{ tags?: string }>;
    expect(resources[0]?.tags).toBe('Linus;LINUS-r1 web');
  });

  it('qm set lowercases, sorts case-insensitively and de-duplicates', async () => {
    expect((await run("qm set 100 --tags 'Web;linus-r1,B Linus;web'")).code).toBe(0);
    expect(host.vmConfig(100)?.tags).toBe('b;linus;linus-r1;web');
  });

  it('honours tag-style case-sensitive=1 and ordering=config from datacenter.cfg', async () => {
    fs.writeFileSync(host.paths.datacenterCfg, 'keyboard: en-us\ntag-style: case-sensitive=1\n');
    expect((await run("qm set 100 --tags 'web;Linus;B;linus;Linus'")).code).toBe(0);
    expect(host.vmConfig(100)?.tags).toBe('B;Linus;linus;web');
    fs.writeFileSync(host.paths.datacenterCfg, 'tag-style: ordering=config\n');
    expect((await run("qm set 100 --tags 'web;Linus;B;linus'")).code).toBe(0);
    expect(host.vmConfig(100)?.tags).toBe('web;linus;b');
  });
});

describe('a stock host: resources lag, iSCSI storage, missing curl', () => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost({ settings: { resourcesLagMs: 4000, missingTools: ['curl'] } });
  });
  afterAll(async () => {
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  // pve-manager API2Tools.pm extract_vm_stats (9.x l.81-90): without an RRD entry from pvestatd
  // (every 10 s, PVE/Service/pvestatd.pm l.884-885) a VM has only id, vmid, node, type and status
  // "unknown", plus lock and tags from its config (API2/Cluster.pm l.554-555, l.589-593).
  it('/cluster/resources names a new VM only after the lag; the node VM list has it at once', async () => {
    const runner = localRunner(host);
    expect((await runner.exec('qm create 100 --name web01 --tags blue')).code).toBe(0);
    const vms = async () => JSON.parse((await runner.exec('pvesh get /cluster/resources --type vm --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(await vms()).toEqual([{ id: 'qemu/100', node: 'pve', status: 'unknown', tags: 'blue', type: 'qemu', vmid: 100 }]);
    const list = JSON.parse((await runner.exec('pvesh get /nodes/pve/qemu --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(list).toEqual([expect.objectContaining({ vmid: 100, name: 'web01', status: 'stopped' })]);
    await new Promise((resolve) => setTimeout(resolve, 4100));
    expect(await vms()).toEqual([expect.objectContaining({ vmid: 100, name: 'web01', status: 'stopped', template: 0, maxmem: 512 * 1024 ** 2 })]);
    // A clone copies its source's `meta: ctime` (qemu-server API2/Qemu.pm clone_vm l.4510-4578) yet is new too.
    expect((await runner.exec('qm clone 100 101 --name web02')).code).toBe(0);
    expect((await vms()).map((entry) => [entry.vmid, entry.name])).toEqual([[100, 'web01'], [101, undefined]]);
  });

  // pve-storage ISCSIPlugin.pm: content images (l.335), status without sizes (l.469-476),
  // alloc_image "can't allocate space in iscsi storage" (l.402-406).
  it('lists an iscsi storage with images content and no sizes, and cannot allocate on it', async () => {
    fs.appendFileSync(host.paths.storageCfg, '\niscsi: san\n\tportal 127.0.0.1\n\ttarget iqn.2003-01.org.linux-iscsi.san:sn.1\n\tcontent images\n');
    const runner = localRunner(host);
    const storages = JSON.parse((await runner.exec('pvesh get /cluster/resources --type storage --output-format json')).stdout) as Array<Record<string, unknown>>;
    expect(storages.find((entry) => entry.storage === 'san')).toEqual({
      content: 'images', disk: 0, id: 'storage/pve/san', maxdisk: 0, node: 'pve', plugintype: 'iscsi', shared: 0, status: 'available', storage: 'san', type: 'storage',
    });
    expect(await runner.exec('qm create 102 --scsi0 san:1')).toEqual({ stdout: '', stderr: "unable to create VM 102 - can't allocate space in iscsi storage\n", code: 255 });
    expect(host.vmConfig(102)).toBeUndefined();
  });

  it('hides curl from the host shell and keeps wget and the Proxmox tools', async () => {
    const runner = localRunner(host);
    expect((await runner.exec('command -v curl')).code).not.toBe(0);
    expect((await runner.exec('command -v wget perl flock qm')).stdout.split('\n').filter(Boolean)).toHaveLength(4);
  });
});

// pve-storage PVE/CLI/pvesm.pm `set` → API2/Storage/Config.pm `update` (9.x l.335-412, 8.3.6 the
// same): no output on success; errors inside lock_storage_config are prefixed "update storage
// failed: " (Storage.pm l.242-250); Plugin.pm `decode_value` (l.470-496) only warns about a
// content type the plugin cannot hold and drops it.
describe.each([
  ['8.4', 'iso,import,vztmpl,backup'],
  ['8.2', 'iso,vztmpl,backup'],
] as const)('pvesm set on a simulated PVE %s host', (version, stock) => {
  let host: SimHost;
  const run = (cmd: string) => localRunner(host).exec(cmd);
  const content = async (storage: string) => (JSON.parse((await run(`pvesh get /storage/${storage} --output-format json`)).stdout) as { content: string }).content;
  beforeAll(async () => {
    host = await createSimHost({ settings: { version } });
  });
  afterAll(async () => {
    await host?.dispose();
    if (host) fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('adds snippets to the dir storage silently, keeping its other content types, and the digest changes', async () => {
    expect(await content('local')).toBe(stock);
    const before = (JSON.parse((await run('pvesh get /storage/local --output-format json')).stdout) as { digest: string }).digest;
    expect(await run(`pvesm set local --content ${stock},snippets --digest ${before}`)).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(await content('local')).toBe(`${stock},snippets`);
    const resources = JSON.parse((await run('pvesh get /cluster/resources --type storage --output-format json')).stdout) as Array<{ storage: string; content: string }>;
    expect(resources.find((entry) => entry.storage === 'local')?.content).toBe(`${stock},snippets`);
    // Config.pm l.352 assert_if_modified → Tools.pm l.868-874.
    expect(await run(`pvesm set local --content ${stock} --digest ${before}`)).toEqual({
      stdout: '',
      stderr: 'update storage failed: detected modified configuration - file changed by other user? Try again.\n',
      code: 255,
    });
    expect(await content('local')).toBe(`${stock},snippets`);
  });

  it('only warns about a content type the plugin cannot hold (lvmthin and snippets) and keeps the rest', async () => {
    expect(await run('pvesm set local-lvm --content images,rootdir,snippets')).toEqual({ stdout: '', stderr: "storage does not support content type 'snippets'\n", code: 0 });
    expect(await content('local-lvm')).toBe('images,rootdir');
    expect(await run('pvesm set local-lvm --content snippets')).toEqual({
      stdout: '',
      stderr: "storage does not support content type 'snippets'\nupdate storage failed: storage does not support content type 'none'\n",
      code: 255,
    });
    expect(await content('local-lvm')).toBe('images,rootdir');
  });

  it('import is a dir content type only from pve-storage 8.2.8 on (commit d955a46)', async () => {
    const result = await run('pvesm set local --content iso,import');
    expect(result).toEqual(version === '8.2' ? { stdout: '', stderr: "storage does not support content type 'import'\n", code: 0 } : { stdout: '', stderr: '', code: 0 });
    expect(await content('local')).toBe(version === '8.2' ? 'iso' : 'iso,import');
  });

  it('refuses an unknown content type, none with others, and an unknown storage', async () => {
    // JSONSchema.pm check_format of 'pve-storage-content-list' → Plugin.pm verify_content l.372-385.
    expect(await run('pvesm set local --content iso,bogus')).toEqual({
      stdout: '',
      stderr: "400 Parameter verification failed.\ncontent: invalid format - invalid content type 'bogus'\n\npvesm set <storage> [OPTIONS]\n",
      code: 255,
    });
    expect(await run('pvesm set local --content none,iso')).toEqual({ stdout: '', stderr: "update storage failed: unable to combine 'none' with other content types\n", code: 255 });
    expect(await run('pvesm set nosuch --content iso')).toEqual({ stdout: '', stderr: "update storage failed: storage 'nosuch' does not exist\n", code: 255 });
    expect((await run('pvesm set local --digest 0123456789012345678901234567890123456789012345678901234567890123456789')).stderr).toBe(
      '400 Parameter verification failed.\ndigest: value may only be 64 characters long\npvesm set <storage> [OPTIONS]\n',
    );
  });
});
