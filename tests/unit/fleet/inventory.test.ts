import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ansibleInventory, groupName, reachable, sshConfig, type Inventory, type InventoryHost } from '../../../src/fleet/inventory.js';

const host = (fields: Partial<InventoryHost>): InventoryHost => ({
  host: 'web01',
  name: 'web01',
  vmId: 100,
  node: 'pve',
  status: 'running',
  address: '192.168.1.50',
  addressFrom: 'agent',
  user: 'ubuntu',
  os: null,
  fleets: [],
  groups: ['node_pve'],
  ...fields,
});
const inventoryOf = (hosts: InventoryHost[]): Inventory => ({ fleet: null, hosts, missing: [], warnings: [], stats: { execs: 1, uploads: 0, via: '' } });

describe('inventory formats', () => {
  it('group names are Ansible identifiers: lowercase, every other character an underscore', () => {
    expect(groupName('node', 'PVE-2.lab')).toBe('node_pve_2_lab');
    expect(groupName('os', 'ubuntu-24.04')).toBe('os_ubuntu_24_04');
    expect(groupName('fleet', '9lives')).toBe('fleet_9lives');
  });

  it('the formats leave out, with a warning naming each, a VM without address, without user, or whose name is no host name', () => {
    const { hosts, warnings } = reachable(
      inventoryOf([host({}), host({ host: 'a', name: 'a', vmId: 101, address: null, status: 'stopped' }), host({ host: 'b', name: 'b', vmId: 102, user: null }), host({ host: 'x y', name: 'x y', vmId: 103 })]),
    );
    expect(hosts.map((each) => each.host)).toEqual(['web01']);
    expect(warnings).toEqual([
      'a (VM 101, stopped): left out, linus knows no address for it (no guest agent answer, no linus run record or static address)',
      'b (VM 102, running): left out, linus has no record of its user',
      'x y (VM 103, running): left out, its name is not a host name',
    ]);
  });

  it('ansible: host variables under all.hosts, each group under all.children (sorted), a host once per group', () => {
    const yaml = ansibleInventory([host({ fleets: ['lab'], os: 'debian-12', groups: ['fleet_lab', 'node_pve', 'os_debian_12'] }), host({ host: 'db01', name: 'db01', vmId: 101, address: '192.168.1.51' })]);
    expect(parseYaml(yaml)).toEqual({
      all: {
        hosts: {
          web01: { ansible_host: '192.168.1.50', ansible_user: 'ubuntu', linus_vmid: 100, linus_node: 'pve', linus_os: 'debian-12' },
          db01: { ansible_host: '192.168.1.51', ansible_user: 'ubuntu', linus_vmid: 101, linus_node: 'pve' },
        },
        children: { fleet_lab: { hosts: { web01: {} } }, node_pve: { hosts: { web01: {}, db01: {} } }, os_debian_12: { hosts: { web01: {} } } },
      },
    });
  });

  it('ssh-config: a Host block per host, the VM ID, node, fleets and OS in the comment above it', () => {
    expect(sshConfig([host({ fleets: ['lab'], os: 'debian-12' }), host({ host: 'db01', name: 'db01', vmId: 101, address: '192.168.1.51', user: 'debian' })])).toBe(
      '# web01: VM 100 on node pve, fleet lab, debian-12\nHost web01\n  HostName 192.168.1.50\n  User ubuntu\n\n# db01: VM 101 on node pve\nHost db01\n  HostName 192.168.1.51\n  User debian\n',
    );
  });
});
