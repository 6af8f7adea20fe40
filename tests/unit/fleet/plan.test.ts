import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../src/config/fleet-file.js';
import { fleetYaml } from '../../../src/fleet/import.js';
import { liveVm, sizeGiB } from '../../../src/fleet/live.js';
import { hasChanges, planFleet, planRefusal } from '../../../src/fleet/plan.js';
import type { FleetVmRow } from '../../../src/protocol/data.js';

// The plan worked out from a fleet file and what `vm.sh fleet-state` read (docs/fleets.md).

const SUMMARY = 'linus 0.1.0 run=r1-abcdef os=ubuntu-24.04 cores=2 memory=2048M disk=20G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0';

function row(id: number, name: string, config: Record<string, string>, extra: Partial<FleetVmRow> = {}): FleetVmRow {
  const tags = extra.tags ?? ['linus', 'linus-r1-abcdef', 'linus-fleet-lab'];
  return {
    id,
    name,
    node: 'pve',
    type: 'qemu',
    status: 'running',
    tags,
    config: {
      name,
      cores: '2',
      memory: '2048',
      cpu: 'x86-64-v2-AES',
      boot: 'order=scsi0',
      scsi0: `local-lvm:vm-${id}-disk-0,size=20G`,
      ide2: `local-lvm:vm-${id}-cloudinit,media=cdrom`,
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
      ciuser: 'ubuntu',
      ipconfig0: 'ip=dhcp',
      description: SUMMARY,
      tags: tags.join(';'),
      ...config,
    },
    pending: [],
    ...extra,
  };
}

const FILE = `fleet: lab
defaults: {sshKey: /k.pub, cores: 2, memory: 2048, disk: 20}
vms:
  - name: web01
  - name: db01
`;

const plan = (text: string, rows: FleetVmRow[], prune = false) => planFleet(parseFleet(text, '/lab.yaml', {}), rows.map(liveVm), { prune, place: { node: 'pve', storage: 'local-lvm', bridge: 'vmbr0' } });
const actions = (result: ReturnType<typeof plan>) => result.changes.map((change) => [change.name, change.action]);

describe('fleet plan', () => {
  it('an empty cluster: a create per VM; a matching VM is unchanged', () => {
    expect(actions(plan(FILE, []))).toEqual([['web01', 'create'], ['db01', 'create']]);
    const same = plan(FILE, [row(100, 'web01', {}), row(101, 'db01', {})]);
    expect(actions(same)).toEqual([['web01', 'unchanged'], ['db01', 'unchanged']]);
    expect(hasChanges(same)).toBe(false);
    expect(same.summary).toEqual({ create: 0, update: 0, replace: 0, delete: 0, unchanged: 2, conflict: 0 });
  });

  it('cores, memory, a bigger disk, the note and tags change in place; pending changes are no change', () => {
    const text = FILE.replace('  - name: web01', '  - {name: web01, cores: 4, disk: 30, description: Web tier, tags: [web, prod]}').replace('  - name: db01', '  - {name: db01, memory: 4096}');
    const result = plan(text, [row(100, 'web01', { description: `${SUMMARY}\nold` }, { tags: ['linus', 'linus-fleet-lab', 'Prod'] }), row(101, 'db01', { memory: '4096' }, { pending: ['memory'] })]);
    expect(result.changes[0]).toMatchObject({ action: 'update', vmId: 100, fields: { cores: [2, 4], disk: [20, 30], description: ['old', 'Web tier'], tags: [['prod'], ['prod', 'web']] } });
    expect(result.changes[1]).toMatchObject({ action: 'unchanged', pending: ['memory'] });
  });

  it('the OS, a named image, storage or bridge, the network, the user, the CPU and a smaller disk replace the VM', () => {
    const text = FILE.replace('  - name: web01', `  - {name: web01, os: debian, disk: 10, storage: ceph, bridge: vmbr1, vlan: 5, vmUser: ops, cpu: host, imageSha256: ${'a'.repeat(64)}, imageUrl: 'https://m/x.img'}`);
    const result = plan(text, [row(100, 'web01', { description: `${SUMMARY} image=sha256:${'b'.repeat(64)}` }), row(101, 'db01', { ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1' })]);
    expect(result.changes[0]).toMatchObject({ action: 'replace' });
    expect(result.changes[0]?.replaceFor?.sort()).toEqual(['bridge', 'cpu', 'disk', 'image', 'os', 'storage', 'vlan', 'vmUser']);
    expect(result.changes[1]).toMatchObject({ action: 'replace', replaceFor: ['ip', 'gateway'], fields: { ip: ['10.0.0.5/24', 'dhcp'], gateway: ['10.0.0.1', null] } });
    expect(planRefusal(result, { allowReplace: false })?.code).toBe('CONFIRMATION_REQUIRED');
    expect(planRefusal(result, { allowReplace: true })).toBeUndefined();
  });

  it('storage, bridge, CPU, user, tags and the note are compared only when the file names them', () => {
    const result = plan(FILE, [row(100, 'web01', { scsi0: 'ceph:vm-100-disk-0,size=20G', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr9', cpu: 'host', ciuser: 'ops', description: `${SUMMARY}\nnote` }, { tags: ['linus', 'linus-fleet-lab', 'x'] }), row(101, 'db01', {})]);
    expect(actions(result)).toEqual([['web01', 'unchanged'], ['db01', 'unchanged']]);
  });

  it('a VM named like the file\'s without the fleet tag, in another fleet, or a container, is a conflict; apply refuses', () => {
    const result = plan(FILE, [row(100, 'web01', {}, { tags: ['prod'] }), { ...row(101, 'db01', {}, { tags: ['linus', 'linus-fleet-other'] }) }]);
    expect(result.changes.map((change) => [change.action, change.reason])).toEqual([
      ['conflict', "VM 100 'web01' on node pve does not carry the tag linus-fleet-lab: 'linus import --fleet lab 100' adopts it"],
      ['conflict', "VM 101 'db01' on node pve is in fleet 'other'"],
    ]);
    expect(planRefusal(result, { allowReplace: true })).toMatchObject({ code: 'NAME_CONFLICT' });
    const ct = plan(FILE, [{ ...row(100, 'web01', {}), type: 'lxc', config: null }]);
    expect(ct.changes[0]).toMatchObject({ action: 'conflict', reason: 'CT 100 carries the tag linus-fleet-lab: a fleet holds VMs, not containers' });
  });

  it('a fleet VM the file no longer lists: listed, and a delete only with prune', () => {
    const rows = [row(100, 'web01', {}), row(101, 'db01', {}), row(102, 'old', {})];
    expect(plan(FILE, rows).notInFile).toEqual([{ name: 'old', vmId: 102, node: 'pve' }]);
    expect(hasChanges(plan(FILE, rows))).toBe(false);
    const pruned = plan(FILE, rows, true);
    expect(pruned.changes.at(-1)).toMatchObject({ action: 'delete', name: 'old', vmId: 102 });
    expect(pruned.notInFile).toEqual([]);
  });

  it('a VM to create without a key is planned with the reason, and apply refuses it; unchanged, it is fine', () => {
    const text = 'fleet: lab\nvms:\n  - {name: web01, cores: 2}\n  - {name: db01}\n';
    const result = plan(text, [row(100, 'web01', {})]);
    expect(result.changes[0]).toMatchObject({ action: 'unchanged' });
    expect(result.changes[1]).toMatchObject({ action: 'create', reason: expect.stringMatching(/^\/lab\.yaml:4:5: db01: sshKey: is required/) });
    expect(planRefusal(result, { allowReplace: true })).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^db01 cannot be created: /) });
  });
});

describe('the live VM', () => {
  it('reads sizes, the boot disk, the NIC, cloud-init and the recorded spec from the config, with qemu-server defaults', () => {
    const vm = liveVm(row(100, 'web01', { boot: 'order=ide2;virtio0', virtio0: 'local:100/vm-100-disk-0.qcow2,size=10752M', scsi0: 'none,media=cdrom', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=20', memory: 'current=4096', cpu: 'cputype=host,flags=+aes', description: `${SUMMARY}\nline 2\nline 3` }));
    expect(vm).toMatchObject({ memoryMiB: 4096, cpu: 'host', disk: { key: 'virtio0', storage: 'local', sizeGiB: 10.5 }, bridge: 'vmbr1', vlan: 20, ip: 'dhcp', gateway: null, note: 'line 2\nline 3', recorded: { os: 'ubuntu-24.04' } });
    const bare = liveVm({ ...row(101, 'x', {}), config: { name: 'x' }, tags: ['Prod', 'linus'] });
    expect(bare).toMatchObject({ cores: 1, memoryMiB: 512, cpu: 'kvm64', userTags: ['prod'], linus: true, fleets: [], note: '' });
    expect(bare.disk).toBeUndefined();
    expect(bare.ip).toBeUndefined();
    expect(bare.vlan).toBeUndefined();
    expect([sizeGiB('20G'), sizeGiB('512M'), sizeGiB('1T'), sizeGiB('x')]).toEqual([20, 0.5, 1024, undefined]);
  });
});

describe('the file import writes', () => {
  it('says what each VM is, shared values as defaults, and plans as no change', () => {
    const rows = [
      row(100, 'web01', { description: `${SUMMARY}\nWeb tier` }, { tags: ['linus', 'linus-fleet-lab', 'web'] }),
      row(101, 'db01', { ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1', net0: 'virtio=BC:24:11:00:00:02,bridge=vmbr0,tag=5', description: 'notes\nmore notes' }, { tags: ['prod'] }),
    ];
    const yaml = fleetYaml('lab', rows.map(liveVm));
    expect(yaml).toMatch(/^# Fleet lab, written by 'linus import' from 2 VM\(s\)/);
    expect(yaml).toContain('defaults:\n  cores: 2\n  memory: 2048\n  disk: 20\n  vmUser: ubuntu\n  cpu: x86-64-v2-AES\n  node: pve\n  storage: local-lvm\n  bridge: vmbr0\n');
    expect(yaml).toContain('  - name: web01\n    os: ubuntu-24.04\n    description: Web tier\n    tags:\n      - web\n');
    expect(yaml).toContain('  - name: db01\n    ip: 10.0.0.5/24\n    gateway: 10.0.0.1\n    vlan: 5\n    tags:\n      - prod\n');
    const fleet = parseFleet(yaml, '/lab.yaml', {});
    const adopted = rows.map((entry) => liveVm({ ...entry, tags: [...entry.tags, 'linus', 'linus-fleet-lab'] }));
    expect(planFleet(fleet, adopted, { prune: true, place: { node: 'pve', storage: 'local-lvm', bridge: 'vmbr0' } }).changes.map((change) => change.action)).toEqual(['unchanged', 'unchanged']);
  });
});
