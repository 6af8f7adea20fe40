import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../src/sim/tools/die.js';
import { verifyIpConfig } from '../../../src/sim/tools/formats.js';
import { getOptions, parseParams } from '../../../src/sim/tools/getopt.js';
import { CREATE_PROPS, SET_PROPS } from '../../../src/sim/tools/vm-schema.js';

function paramError(fn: () => unknown): ParamError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ParamError) {
      error.usage = 'qm create <vmid> [OPTIONS]\n';
      return error;
    }
    throw error;
  }
  throw new Error('no ParamError');
}

describe('option parsing (JSONSchema get_options)', () => {
  it('accepts --opt v, -opt v, --opt=v and unique abbreviations', () => {
    const values = getOptions(['100', '-name', 'web01', '--memory=2048', '--sshkey', '/k.pub'], SET_PROPS, ['vmid']);
    expect(values).toEqual({ vmid: '100', name: 'web01', memory: '2048', sshkeys: '/k.pub' });
  });

  it('matches option names case-insensitively, also mixed-case ones such as forceStop', () => {
    const props = { vmid: { type: 'string' }, forceStop: { type: 'boolean', optional: true }, timeout: { type: 'integer', optional: true } } as const;
    for (const flag of ['--forceStop', '--forcestop', '--FORCESTOP', '--force']) {
      expect(getOptions(['100', flag, '1', '--Timeout', '2'], props, ['vmid'])).toEqual({ vmid: '100', forceStop: '1', timeout: '2' });
    }
  });

  it('parses booleans: bare flag is 1, yes/off spellings, next option not swallowed', () => {
    expect(getOptions(['100', '--onboot', '--protection', 'off', '--template', 'yes'], SET_PROPS, ['vmid'])).toMatchObject({ onboot: '1', protection: '0', template: '1' });
    expect(paramError(() => getOptions(['100', '--onboot', 'maybe'], SET_PROPS, ['vmid'])).render()).toBe('400 unable to parse boolean option\nqm create <vmid> [OPTIONS]\n');
  });

  it('keeps +10G as a plain argument and joins repeated list options', () => {
    expect(getOptions(['100', 'scsi0', '+10G'], { vmid: { type: 'string' }, disk: { type: 'string' }, size: { type: 'string' } }, ['vmid', 'disk', 'size'])).toEqual({ vmid: '100', disk: 'scsi0', size: '+10G' });
    expect(getOptions(['100', '--delete', 'tags', '--delete', 'cores'], SET_PROPS, ['vmid']).delete).toBe('tags,cores');
  });

  it('reports unknown and ambiguous options the Getopt::Long way', () => {
    expect(paramError(() => getOptions(['100', '--foo', 'x'], CREATE_PROPS, ['vmid'])).render()).toBe('Unknown option: foo\n400 unable to parse option\nqm create <vmid> [OPTIONS]\n');
    expect(paramError(() => getOptions(['100', '--ipconfig', 'x'], CREATE_PROPS, ['vmid'])).render()).toMatch(/^Option ipconfig is ambiguous \(ipconfig0, ipconfig1, /);
  });

  it('counts positional arguments', () => {
    expect(paramError(() => getOptions([], CREATE_PROPS, ['vmid'])).render()).toBe('400 not enough arguments\nqm create <vmid> [OPTIONS]\n');
    expect(paramError(() => getOptions(['100', '101'], CREATE_PROPS, ['vmid'])).render()).toBe('400 too many arguments\nqm create <vmid> [OPTIONS]\n');
  });

  it('formats 400 errors like Exception.pm (blank line after format errors ending in \\n)', () => {
    expect(paramError(() => parseParams(['99'], CREATE_PROPS, ['vmid'])).render()).toBe(
      '400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\nqm create <vmid> [OPTIONS]\n',
    );
    expect(paramError(() => parseParams(['0100'], CREATE_PROPS, ['vmid'])).errors.vmid).toMatch(/valid VM ID/);
    expect(paramError(() => parseParams(['100', '--cores', 'abc', '--scsihw', 'x'], CREATE_PROPS, ['vmid'])).render()).toBe(
      "400 Parameter verification failed.\ncores: type check ('integer') failed - got 'abc'\nscsihw: value 'x' does not have a value in the enumeration 'lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi'\nqm create <vmid> [OPTIONS]\n",
    );
    expect(paramError(() => parseParams(['100', '--cores', '0'], CREATE_PROPS, ['vmid'])).errors.cores).toBe('value must have a minimum value of 1');
  });

  it('checks dns-name', () => {
    for (const bad of ['my_vm', '-vm', 'vm-']) {
      expect(paramError(() => parseParams(['100', '--name', bad], CREATE_PROPS, ['vmid'])).errors.name).toBe('invalid format - value does not look like a valid DNS name\n');
    }
    expect(parseParams(['100', '--name', 'web01.example.com'], CREATE_PROPS, ['vmid']).name).toBe('web01.example.com');
  });

  it('checks ipconfig with nested errors', () => {
    expect(() => verifyIpConfig('ip=10.0.0.5/24,gw=10.0.0.1', 'ipconfig0')).not.toThrow();
    expect(() => verifyIpConfig('ip=dhcp', 'ipconfig0')).not.toThrow();
    expect(paramError(() => parseParams(['100', '--ipconfig0', 'ip=10.0.0.5'], SET_PROPS, ['vmid'])).render()).toBe(
      '400 Parameter verification failed.\nipconfig0: invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n\nqm create <vmid> [OPTIONS]\n',
    );
    expect(() => verifyIpConfig('gw=10.0.0.1', 'ipconfig0')).toThrow("ipconfig0.ip: missing property required by 'ipconfig0.gw'");
  });
});
