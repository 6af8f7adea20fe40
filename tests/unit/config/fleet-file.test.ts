import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../src/config/fleet-file.js';
import { LinusError } from '../../../src/protocol/errors.js';

const env = { HOME: '/home/op' };
const parse = (text: string) => parseFleet(text, '/lab/fleet.yaml', env);

function failure(text: string): LinusError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof LinusError) return error;
    throw error;
  }
  throw new Error('parsed');
}

const EXAMPLE = `fleet: lab
defaults: {os: ubuntu, cores: 2, memory: 2048, disk: 20, sshKey: ~/.ssh/id_ed25519.pub}
vms:
  - name: web01
    cores: 4
  - name: db01
    memory: 4096
    ip: 192.168.1.50/24
    gateway: 192.168.1.1
  - name: worker-{n}
    count: 3
`;

describe('fleet file', () => {
  it('expands defaults and {n} into full specs', () => {
    const fleet = parse(EXAMPLE);
    expect(fleet.name).toBe('lab');
    expect(fleet.tag).toBe('linus-fleet-lab');
    expect(fleet.vms.map((vm) => vm.name)).toEqual(['web01', 'db01', 'worker-1', 'worker-2', 'worker-3']);
    const [web, db, worker] = fleet.vms;
    expect(web?.spec).toMatchObject({ name: 'web01', cores: 4, memory: 2048, disk: 20, sshKey: '/home/op/.ssh/id_ed25519.pub', ip: 'dhcp' });
    expect(db?.spec).toMatchObject({ memory: 4096, ip: '192.168.1.50/24', gateway: '192.168.1.1', cores: 2 });
    expect(worker?.line).toBe(10);
  });

  it('takes kebab-case keys and placement per VM, key paths relative to the file', () => {
    const fleet = parse('fleet: lab\ntarget: {host: pve1, node-addresses: {pve2: 10.0.0.2}}\nvms:\n  - {name: a, ssh-key: keys/a.pub, node: pve2, tags: [web]}\n');
    expect(fleet.target).toMatchObject({ host: 'pve1' });
    expect(fleet.vms[0]).toMatchObject({ node: 'pve2', tags: ['web'], spec: { sshKey: '/lab/keys/a.pub' } });
  });

  it('names the line and column of a bad value, and the VM', () => {
    const error = failure('fleet: lab\ndefaults: {sshKey: k.pub}\nvms:\n  - name: web01\n    cores: 999\n');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^\/lab\/fleet\.yaml:5:12: web01: cores: /);
  });

  it('says "did you mean" for an unknown key, at its line', () => {
    const error = failure('fleet: lab\nvms:\n  - name: web01\n    memroy: 4096\n');
    expect(error.message).toMatch(/fleet\.yaml:3:5: .*unknown setting 'memroy' \(did you mean memory\?\)/);
  });

  it('refuses a name given twice, {n} without count, bad YAML and a bad fleet name', () => {
    expect(failure('fleet: lab\ndefaults: {password: true}\nvms:\n  - name: a\n  - name: a\n').message).toMatch(/:5:5: a is named twice \(first on line 4\)/);
    expect(failure('fleet: lab\ndefaults: {password: true}\nvms:\n  - {name: w, count: 2}\n').message).toMatch(/must contain \{n\}/);
    expect(failure('fleet: lab\nvms: [\n').message).toMatch(/fleet\.yaml:\d+:\d+: not valid YAML/);
    expect(failure('fleet: Lab_1\nvms:\n  - {name: a, password: true}\n').message).toMatch(/fleet\.yaml:1:8: fleet: must be lowercase/);
  });

  it('takes a key and image from elsewhere only where the file names none; records what the file names', () => {
    const complete = (settings: Record<string, unknown>) => ({ ...settings, ...(settings.sshKey === undefined ? { sshKey: '/profile.pub' } : {}) });
    const fleet = parseFleet('fleet: lab\ndefaults: {cores: 4}\nvms:\n  - {name: a, storage: ceph}\n  - {name: b, sshKey: own.pub}\n', '/lab/fleet.yaml', env, complete);
    expect(fleet.vms.map((vm) => [vm.spec.sshKey, vm.named])).toEqual([
      ['/profile.pub', ['cores', 'storage']],
      ['/lab/own.pub', ['cores', 'sshKey']],
    ]);
  });

  it('a VM without a key is kept with the reason it cannot be created; any other problem is an error', () => {
    const fleet = parse('fleet: lab\nvms:\n  - {name: a, cores: 4}\n');
    expect(fleet.vms[0]).toMatchObject({ spec: { name: 'a', cores: 4 }, cannotCreate: expect.stringMatching(/^\/lab\/fleet\.yaml:3:5: a: sshKey: is required/) });
    expect(failure('fleet: lab\nvms:\n  - {name: a, ip: 10.0.0.5/24}\n').message).toMatch(/a: gateway: is required with a static --ip/);
  });

  it('refuses tags of linus\' own and resolves the target\'s key files next to the file', () => {
    expect(failure('fleet: lab\ndefaults: {password: true}\nvms:\n  - {name: a, tags: [linus-x]}\n').message).toMatch(/tags\.0: must not start with 'linus'/);
    expect(failure('fleet: lab\ndefaults: {password: true}\nvms:\n  - {name: a, tags: [Web]}\n').message).toMatch(/must be a Proxmox tag/);
    expect(parse('fleet: lab\ntarget: {identity: keys/id, knownHosts: ~/kh}\nvms:\n  - {name: a, password: true}\n').target).toEqual({ identity: '/lab/keys/id', knownHosts: '/home/op/kh' });
  });
});
