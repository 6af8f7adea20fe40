import { describe, expect, it } from 'vitest';
import { CPU_TYPES } from '../../../src/config/cpu.js';
import { vmSpecSchema } from '../../../src/config/spec.js';
import { CPU_MODELS } from '../../../src/sim/tools/cpu-models.js';

// The host's copy of the lists is generated from these; rules-parity.test.ts runs it on every type.
describe('CPU types', () => {
  it('knows only models qm accepts', () => {
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
