import { matches } from './rules.js';

// CPU types `qm --cpu` accepts (qemu-server CPUConfig.pm: the x86_64 models, host, and the
// built-in x86-64-v* models). The host's lists (shell/lib/rules.sh) are generated from these;
// tests/unit/config/cpu.test.ts keeps them in step with the simulator's.
export const CPU_TYPES = [
  '486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'Conroe', 'Penryn', 'Nehalem', 'Nehalem-IBRS',
  'Westmere', 'Westmere-IBRS', 'SandyBridge', 'SandyBridge-IBRS', 'IvyBridge', 'IvyBridge-IBRS', 'Haswell',
  'Haswell-IBRS', 'Haswell-noTSX', 'Haswell-noTSX-IBRS', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-noTSX',
  'Broadwell-noTSX-IBRS', 'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Client-noTSX-IBRS', 'Skylake-Client-v4',
  'Skylake-Server', 'Skylake-Server-IBRS', 'Skylake-Server-noTSX-IBRS', 'Skylake-Server-v4', 'Skylake-Server-v5',
  'Cascadelake-Server', 'Cascadelake-Server-v2', 'Cascadelake-Server-noTSX', 'Cascadelake-Server-v4',
  'Cascadelake-Server-v5', 'Cooperlake', 'Cooperlake-v2', 'KnightsMill', 'Icelake-Server', 'Icelake-Server-noTSX',
  'Icelake-Server-v3', 'Icelake-Server-v4', 'Icelake-Server-v5', 'Icelake-Server-v6', 'Icelake-Server-v7',
  'SapphireRapids', 'SapphireRapids-v2', 'SapphireRapids-v3', 'SapphireRapids-v4', 'GraniteRapids', 'GraniteRapids-v2',
  'GraniteRapids-v3', 'SierraForest', 'SierraForest-v2', 'SierraForest-v3', 'ClearwaterForest', 'athlon', 'phenom',
  'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4', 'Opteron_G5', 'EPYC', 'EPYC-IBPB', 'EPYC-v3', 'EPYC-v4',
  'EPYC-v5', 'EPYC-Rome', 'EPYC-Rome-v2', 'EPYC-Rome-v3', 'EPYC-Rome-v4', 'EPYC-Rome-v5', 'EPYC-Milan',
  'EPYC-Milan-v2', 'EPYC-Milan-v3', 'EPYC-Genoa', 'EPYC-Genoa-v2', 'EPYC-Turin', 'kvm32', 'kvm64', 'qemu32', 'qemu64',
  'max', 'host', 'x86-64-v2', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4',
] as const;

// The types above without x86-64-v2 (SSE4.2, POPCNT, SSSE3, CX16): a RHEL 9 kernel panics on them
// (pve-docs qm.adoc l.505); `kvm64` is Proxmox's default when no --cpu is given.
export const CPU_TYPES_PRE_V2 = ['486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'Conroe', 'Penryn', 'kvm32', 'kvm64', 'qemu32', 'qemu64', 'athlon', 'phenom', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3'] as const;

export const DEFAULT_CPU = 'x86-64-v2-AES';

export function isKnownCpu(cpu: string): boolean {
  return (CPU_TYPES as readonly string[]).includes(cpu) || matches('cpuCustom', cpu);
}

export function hasX86_64v2(cpu: string): boolean {
  return !(CPU_TYPES_PRE_V2 as readonly string[]).includes(cpu);
}
