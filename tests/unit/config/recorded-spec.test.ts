import { describe, expect, it } from 'vitest';
import { parseRecordedSpec, specDiff } from '../../../src/config/recorded-spec.js';
import { vmSpecSchema } from '../../../src/config/spec.js';

const SUMMARY = 'linus 1.4.0 run=20261201-abcdef os=ubuntu-24.04 cores=2 memory=2048M disk=20G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0';

describe('recorded spec', () => {
  it('reads the summary a provision writes, first line only', () => {
    expect(parseRecordedSpec(`${SUMMARY}\nweb tier`)).toMatchObject({ os: 'ubuntu-24.04', cores: 2, memory: 2048, disk: 20, user: 'ubuntu', ip: 'dhcp', upgrade: false, keys: 1 });
    expect(parseRecordedSpec(SUMMARY.replace('ip=dhcp', 'ip=10.0.0.5/24 gw=10.0.0.1 vlan=20'))).toMatchObject({ ip: '10.0.0.5/24', gw: '10.0.0.1', vlan: 20 });
    expect(parseRecordedSpec(`${SUMMARY} image=sha256:${'ab'.repeat(32)}`)).toMatchObject({ image: `sha256:${'ab'.repeat(32)}` });
    expect(parseRecordedSpec(`${SUMMARY} image=md5:00`)).toBeUndefined();
  });

  it('is undefined for a description that is not a summary', () => {
    for (const text of [undefined, '', 'web tier', 'linus', SUMMARY.replace('memory=2048M', 'memory=lots'), `${SUMMARY} extra`]) expect(parseRecordedSpec(text)).toBeUndefined();
  });

  it('lists what differs, with OS aliases equal to their release', () => {
    const recorded = parseRecordedSpec(SUMMARY);
    if (!recorded) throw new Error('no summary');
    const same = vmSpecSchema.parse({ name: 'a', os: 'ubuntu', sshKey: 'k' });
    expect(specDiff(same, recorded)).toEqual({});
    const other = vmSpecSchema.parse({ name: 'a', os: 'debian', cores: 4, sshKey: 'k', vmUser: 'ops' });
    expect(specDiff(other, recorded)).toEqual({ os: ['debian-12', 'ubuntu-24.04'], cores: [4, 2], vmUser: ['ops', 'ubuntu'] });
  });
});
