import { describe, expect, it } from 'vitest';
import { highestName, numberIn } from '../../../src/config/names.js';
import { vmSpecSchema } from '../../../src/config/spec.js';
import { reuseVerdict } from '../../../src/jobs/reuse.js';
import type { ExistingRow } from '../../../src/protocol/data.js';

const SPEC = 'linus 1.4.0 run=20261201-abcdef os=ubuntu-24.04 cores=2 memory=2048M disk=20G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0';

function row(overrides: Partial<ExistingRow> = {}): ExistingRow {
  return {
    id: 105, name: 'web', node: 'pve', type: 'qemu', status: 'running', cores: 2, memoryMiB: 2048, diskGiB: 20, ip: '10.0.0.5',
    linus: true, template: false, lock: null, tags: ['linus', 'linus-20261201-abcdef'], spec: SPEC, ...overrides,
  };
}

describe('--count numbering (the host numbers; the driver names the highest taken)', () => {
  it('reads the number of a name of the pattern, every {n} the same, no leading zero', () => {
    expect(numberIn('dev-{n}', 'dev-12')).toBe(12);
    expect(numberIn('a{n}-b{n}', 'a3-b3')).toBe(3);
    for (const name of ['dev-07', 'dev-', 'xdev-1', 'dev-1x', 'dev.1']) expect(numberIn('dev-{n}', name)).toBeUndefined();
    expect(numberIn('a{n}-b{n}', 'a3-b4')).toBeUndefined();
    expect(numberIn('d.v-{n}', 'dxv-1')).toBeUndefined();
    expect(numberIn('web', 'web')).toBeUndefined();
  });

  it('the highest: by number, not by text', () => {
    expect(highestName('dev-{n}', ['dev-2', 'dev-10', 'dev-9', 'other'])).toBe('dev-10');
    expect(highestName('dev-{n}', ['other'])).toBeUndefined();
  });
});

describe('--if-exists reuse verdict', () => {
  const wanted = vmSpecSchema.parse({ name: 'web', os: 'ubuntu', sshKey: 'k' });

  it('reuses a running linus VM whose recorded spec and live sizes match', () => {
    expect(reuseVerdict(wanted, 'pve', row())).toMatchObject({ ok: true, os: 'ubuntu-24.04', recordedUser: 'ubuntu' });
    expect(reuseVerdict(wanted, 'auto', row({ node: 'pve2' })).ok).toBe(true);
  });

  it('refuses with the difference, live sizes over the record, and the node asked for', () => {
    const bigger = vmSpecSchema.parse({ name: 'web', os: 'ubuntu', sshKey: 'k', cores: 4, memory: 4096 });
    expect(reuseVerdict(bigger, 'pve', row())).toMatchObject({ ok: false, code: 'NAME_CONFLICT', reason: 'it differs: cores: wanted 4, VM has 2; memory: wanted 4096 MiB, VM has 2048 MiB' });
    expect(reuseVerdict(wanted, 'pve', row({ diskGiB: 30 }))).toMatchObject({ reason: 'it differs: disk: wanted 20 GiB, VM has 30 GiB' });
    expect(reuseVerdict(wanted, 'pve2', row())).toMatchObject({ reason: 'it differs: node: wanted pve2, VM is on pve' });
    const vlan = vmSpecSchema.parse({ name: 'web', os: 'ubuntu', sshKey: 'k', vlan: 20 });
    expect(reuseVerdict(vlan, 'pve', row())).toMatchObject({ reason: 'it differs: vlan: wanted 20, VM has none' });
  });

  it('never reuses a foreign VM, a container, a template or a VM without a recorded spec; a stopped match says to start it', () => {
    expect(reuseVerdict(wanted, 'pve', row({ linus: false, tags: [] }))).toMatchObject({ ok: false, code: 'VM_NOT_OWNED' });
    expect(reuseVerdict(wanted, 'pve', row({ type: 'lxc' }))).toMatchObject({ ok: false, code: 'VM_NOT_OWNED' });
    expect(reuseVerdict(wanted, 'pve', row({ template: true }))).toMatchObject({ ok: false, code: 'NAME_CONFLICT', reason: 'it is a template' });
    expect(reuseVerdict(wanted, 'pve', row({ spec: 'web tier' }))).toMatchObject({ ok: false, code: 'NAME_CONFLICT' });
    expect(reuseVerdict(wanted, 'pve', row({ status: 'stopped' }))).toMatchObject({ ok: false, code: 'VM_WRONG_STATE', reason: 'it matches but is stopped', remediation: "Start it with 'linus vm start 105' and run again." });
  });
});
