// qemu-server CPUConfig.pm (9.2.6): the x86_64 models (`initialize_cpu_models`' list, which QEMU's
// cpu-models-x86_64.json replaces on newer packages), `host`, and the built-in x86-64-v* models.
export const CPU_MODELS = new Set([
  '486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'Conroe', 'Penryn', 'Nehalem', 'Nehalem-IBRS',
  'Westmere', 'Westmere-IBRS', 'SandyBridge', 'SandyBridge-IBRS', 'IvyBridge', 'IvyBridge-IBRS', 'Haswell',
  'Haswell-IBRS', 'Haswell-noTSX', 'Haswell-noTSX-IBRS', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-noTSX',
  'Broadwell-noTSX-IBRS', 'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Client-noTSX-IBRS', 'Skylake-Client-v4',
  'Skylake-Server', 'Skylake-Server-IBRS', 'Skylake-Server-noTSX-IBRS', 'Skylake-Server-v4', 'Skylake-Server-v5',
  'Cascadelake-Server', 'Cascadelake-Server-v2', 'Cascadelake-Server-noTSX', 'Cascadelake-Server-v4',
  'Cascadelake-Server-v5', 'Cooperlake', 'Cooperlake-v2', 'KnightsMill', 'Icelake-Client', 'Icelake-Client-noTSX',
  'Icelake-Server', 'Icelake-Server-noTSX', 'Icelake-Server-v3', 'Icelake-Server-v4', 'Icelake-Server-v5',
  'Icelake-Server-v6', 'Icelake-Server-v7', 'SapphireRapids', 'SapphireRapids-v2', 'SapphireRapids-v3',
  'SapphireRapids-v4', 'GraniteRapids', 'GraniteRapids-v2', 'GraniteRapids-v3', 'SierraForest', 'SierraForest-v2',
  'SierraForest-v3', 'ClearwaterForest', 'athlon', 'phenom', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4',
  'Opteron_G5', 'EPYC', 'EPYC-IBPB', 'EPYC-v3', 'EPYC-v4', 'EPYC-v5', 'EPYC-Rome', 'EPYC-Rome-v2', 'EPYC-Rome-v3',
  'EPYC-Rome-v4', 'EPYC-Rome-v5', 'EPYC-Milan', 'EPYC-Milan-v2', 'EPYC-Milan-v3', 'EPYC-Genoa', 'EPYC-Genoa-v2',
  'EPYC-Turin', 'kvm32', 'kvm64', 'qemu32', 'qemu64', 'max', 'host', 'x86-64-v2', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4',
]);

// Format `pve-vm-cpu-conf` (`validate_vm_cpu_conf`, CPUConfig.pm l.472-489): the cputype must be a
// known model or a custom- one. Custom models are not simulated (no cpu-models.conf).
export function verifyCpu(value: string): void {
  const parts = value.split(',');
  const named = parts.find((part) => part.startsWith('cputype='));
  const head = parts[0] ?? '';
  const cputype = named !== undefined ? named.slice('cputype='.length) : head.includes('=') ? '' : head;
  if (cputype === '') throw new Error('CPU is missing cputype\n');
  if (/^custom-/.test(cputype)) throw new Error(`Custom cputype '${cputype.slice('custom-'.length)}' not found\n`);
  if (!CPU_MODELS.has(cputype)) throw new Error(`Built-in cputype '${cputype}' is not defined (missing 'custom-' prefix?)\n`);
}
