import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../src/config/load.js';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { parseNodeAddresses } from '../../../src/host/nodes.js';
import { errorOf } from '../../helpers/errors.js';

function tempFile(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'linus-cfg-')), name);
  fs.writeFileSync(file, text);
  return file;
}


describe('settings precedence', () => {
  const yaml = tempFile('linus.yaml', 'host: file-host\nport: 2200\nnode: file-node\nstorage: file-storage\n');

  it('takes flags over LINUS_* environment over the config file over defaults', () => {
    const target = parseSettings(targetSchema, {
      flags: { host: 'flag-host' },
      env: { LINUS_HOST: 'env-host', LINUS_NODE: 'env-node' },
      configFile: yaml,
    });
    expect(target).toMatchObject({ host: 'flag-host', node: 'env-node', port: 2200, storage: 'file-storage', bridge: 'vmbr0', user: 'root' });
  });

  it('reads JSON config files and environment booleans and lists', () => {
    const json = tempFile('linus.json', JSON.stringify({ host: 'json-host' }));
    const target = parseSettings(targetSchema, {
      flags: {},
      env: { LINUS_ACCEPT_NEW_HOST_KEY: 'true', LINUS_HOST_KEY: `SHA256:${'a'.repeat(43)}` },
      configFile: json,
    });
    expect(target).toMatchObject({ host: 'json-host', acceptNewHostKey: true, hostKey: [`SHA256:${'a'.repeat(43)}`] });
  });

  it('names the flag and where a bad value came from', () => {
    const fromEnv = errorOf(() => parseSettings(vmSpecSchema, { flags: { name: 'web01', sshKey: 'k' }, env: { LINUS_DISK: 'huge' } }));
    expect(fromEnv.code).toBe('INVALID_SPEC');
    expect(fromEnv.exitCode).toBe(1);
    expect(fromEnv.message).toMatch(/^--disk \(from LINUS_DISK\): /);
    const fromFlag = errorOf(() => parseSettings(vmSpecSchema, { flags: { name: 'My_VM', sshKey: 'k' }, env: {} }));
    expect(fromFlag.message).toMatch(/^--name: must be a DNS label/);
  });

  it('lets one config file hold both target and VM settings', () => {
    const both = tempFile('both.yaml', 'host: pve.lan\nnode: pve2\nname: web01\ncores: 4\nsshKey: /k.pub\n');
    expect(parseSettings(targetSchema, { flags: {}, env: {}, configFile: both })).toMatchObject({ host: 'pve.lan', node: 'pve2' });
    expect(parseSettings(vmSpecSchema, { flags: {}, env: {}, configFile: both })).toMatchObject({ name: 'web01', cores: 4 });
  });

  it('refuses unknown keys in the config file and unreadable files', () => {
    const bad = tempFile('bad.yaml', 'hots: typo\n');
    expect(errorOf(() => parseSettings(targetSchema, { flags: {}, env: {}, configFile: bad })).message).toMatch(/unknown setting 'hots'/);
    expect(errorOf(() => parseSettings(targetSchema, { flags: {}, env: {}, configFile: '/nonexistent.yaml' })).code).toBe('CONFIG_INVALID');
  });
});

describe('VM spec validation', () => {
  const ok = { name: 'web01', sshKey: 'key' };
  const parse = (flags: Record<string, unknown>) => parseSettings(vmSpecSchema, { flags: { ...ok, ...flags }, env: {} });

  it('applies defaults', () => {
    expect(parse({})).toMatchObject({ os: 'ubuntu', cores: 2, memory: 2048, disk: 20, ip: 'dhcp', password: false, timeout: 300 });
  });

  it.each([
    [{ name: 'web01;rm -rf /' }, '--name'],
    [{ name: '-vm' }, '--name'],
    [{ name: 'a'.repeat(64) }, '--name'],
    [{ cores: 0 }, '--cores'],
    [{ memory: 256 }, '--memory'],
    [{ os: 'windows' }, '--os'],
    [{ ip: '10.0.0.5' }, '--ip'],
    [{ ip: '10.0.0.5/24' }, '--gateway'],
    [{ ip: 'dhcp', gateway: '10.0.0.1' }, '--gateway'],
    [{ dns: '1.1.1.1 $(reboot)' }, '--dns'],
    [{ vlan: 4095 }, '--vlan'],
    [{ imageUrl: 'file:///etc/passwd' }, '--image-url'],
    [{ imageSha256: 'abc' }, '--image-sha256'],
    [{ sshKey: undefined }, '--ssh-key'],
  ])('rejects %j naming %s', (flags, flag) => {
    expect(errorOf(() => parse(flags)).message).toContain(flag);
  });

  it('accepts a static address with gateway and DNS', () => {
    expect(parse({ ip: '127.88.5.5/16', gateway: '127.88.0.1', dns: '1.1.1.1 8.8.8.8', vlan: 10 })).toMatchObject({ ip: '127.88.5.5/16', vlan: 10 });
  });
});

describe('node addresses', () => {
  const nodeAddresses = (sources: { flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv; configFile?: string }) =>
    parseNodeAddresses(parseSettings(targetSchema, { flags: { host: 'pve1', ...sources.flags }, env: sources.env ?? {}, ...(sources.configFile ? { configFile: sources.configFile } : {}) }).nodeAddresses);

  it('come from a map or a list in the config file, LINUS_NODE_ADDRESSES or --node-address, flags first', () => {
    const map = tempFile('nodes.yaml', 'nodeAddresses:\n  pve2: 192.168.1.12\n  pve3: "192.168.1.13:2222"\n');
    expect(nodeAddresses({ configFile: map })).toEqual({ pve2: { host: '192.168.1.12' }, pve3: { host: '192.168.1.13', port: 2222 } });
    const list = tempFile('nodes.json', JSON.stringify({ nodeAddresses: ['pve2=10.0.0.2'] }));
    expect(nodeAddresses({ configFile: list })).toEqual({ pve2: { host: '10.0.0.2' } });
    expect(nodeAddresses({ configFile: list, env: { LINUS_NODE_ADDRESSES: 'pve4=10.0.0.4, pve5=[fd00::5]:22' } })).toEqual({ pve4: { host: '10.0.0.4' }, pve5: { host: 'fd00::5', port: 22 } });
    expect(nodeAddresses({ flags: { nodeAddresses: ['pve6=h6'] }, env: { LINUS_NODE_ADDRESSES: 'pve4=10.0.0.4' } })).toEqual({ pve6: { host: 'h6' } });
    expect(nodeAddresses({})).toEqual({});
  });

  it('refuse a malformed entry with INVALID_SPEC naming it', () => {
    for (const bad of ['pve2', 'pve2=', 'pve2=host:0', 'pve2=host:70000', 'pve 2=host', 'pve2=$(id)']) {
      const error = errorOf(() => nodeAddresses({ flags: { nodeAddresses: [bad] } }));
      expect(error.code).toBe('INVALID_SPEC');
      expect(error.message).toContain(JSON.stringify(bad));
    }
  });
});
