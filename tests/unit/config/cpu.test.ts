import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPU_TYPES, CPU_TYPES_PRE_V2 } from '../../../src/config/cpu.js';
import { vmSpecSchema } from '../../../src/config/spec.js';
import { packageRoot } from '../../../src/provisioners/bundle.js';
import { CPU_MODELS } from '../../../src/sim/tools/cpu-models.js';

// The words of a `readonly NAME=" ... "` list in shell/lib/spec.sh.
function shellList(name: string): string[] {
  const text = fs.readFileSync(path.join(packageRoot(), 'shell', 'lib', 'spec.sh'), 'utf8');
  const body = new RegExp(`readonly ${name}="([^"]*)"`).exec(text)?.[1];
  if (body === undefined) throw new Error(`no ${name} in shell/lib/spec.sh`);
  return body.split(/\s+/).filter(Boolean);
}

describe('CPU types', () => {
  it('the driver and the provisioner know the same types, all of them models qm accepts', () => {
    expect(shellList('CPU_TYPES')).toEqual([...CPU_TYPES]);
    expect(shellList('CPU_TYPES_PRE_V2').sort()).toEqual([...CPU_TYPES_PRE_V2].sort());
    expect(CPU_TYPES.filter((cpu) => !CPU_MODELS.has(cpu))).toEqual([]);
  });

  it('defaults to x86-64-v2-AES and refuses an unknown type, or a pre-v2 one for a RHEL 9 family OS', () => {
    const base = { name: 'web01', sshKey: 'key.pub' };
    expect(vmSpecSchema.parse(base).cpu).toBe('x86-64-v2-AES');
    expect(vmSpecSchema.safeParse({ ...base, cpu: 'Nehalem-XYZ' }).error?.issues[0]?.message).toMatch(/must be a CPU type Proxmox knows/);
    expect(vmSpecSchema.safeParse({ ...base, os: 'rocky', cpu: 'kvm64' }).error?.issues[0]?.message).toMatch(/kvm64 lacks x86-64-v2, which the rocky-9 kernel needs/);
    expect(vmSpecSchema.safeParse({ ...base, os: 'ubuntu', cpu: 'kvm64' }).success).toBe(true);
    expect(vmSpecSchema.safeParse({ ...base, os: 'almalinux', cpu: 'host' }).success).toBe(true);
  });
});
