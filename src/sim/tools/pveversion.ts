import { VERSION_PROFILES } from '../settings.js';
import type { ToolContext } from './context.js';

// Package versions shown by `pveversion -v` besides pve-manager/kernel (approximations per release).
const PACKAGES: Record<string, Record<string, string>> = {
  '8.2': { 'proxmox-ve': '8.2.0', 'libpve-common-perl': '8.2.2', 'libpve-storage-perl': '8.2.3', 'pve-cluster': '8.0.7', 'pve-qemu-kvm': '9.0.2-3', 'qemu-server': '8.2.4' },
  '8.4': { 'proxmox-ve': '8.4.0', 'libpve-common-perl': '8.3.1', 'libpve-storage-perl': '8.3.6', 'pve-cluster': '8.1.0', 'pve-qemu-kvm': '9.2.0-5', 'qemu-server': '8.3.13' },
  '9.0': { 'proxmox-ve': '9.0.0', 'libpve-common-perl': '9.0.9', 'libpve-storage-perl': '9.0.13', 'pve-cluster': '9.0.6', 'pve-qemu-kvm': '10.0.2-4', 'qemu-server': '9.0.23' },
  '9.1': { 'proxmox-ve': '9.1.0', 'libpve-common-perl': '9.1.0', 'libpve-storage-perl': '9.1.0', 'pve-cluster': '9.0.7', 'pve-qemu-kvm': '10.1.2-1', 'qemu-server': '9.1.0' },
};

// pve-manager bin/pveversion (§11).
export async function runPveversion(ctx: ToolContext, args: string[]): Promise<number> {
  const verbose = args.length === 1 && /^--?v(e(r(b(o(se?)?)?)?)?)?$/.test(args[0] as string);
  if (args.length > 1 || (args.length === 1 && !verbose)) {
    if (args[0]?.startsWith('-') && !verbose) ctx.err(`Unknown option: ${args[0].replace(/^--?/, '')}\n`);
    ctx.err('USAGE: pveversion [--verbose]\n');
    return 255;
  }
  const profile = VERSION_PROFILES[ctx.settings.version];
  if (!verbose) {
    ctx.out(`pve-manager/${profile.manager}/${profile.repoid} (running kernel: ${profile.kernel})\n`);
    return 0;
  }
  const packages = PACKAGES[ctx.settings.version] ?? {};
  const kernelSeries = profile.kernel.split('.').slice(0, 2).join('.');
  const kernelVersion = profile.kernel.replace(/-pve$/, '');
  ctx.out(`proxmox-ve: ${packages['proxmox-ve']} (running kernel: ${profile.kernel})\n`);
  ctx.out(`pve-manager: ${profile.manager} (running version: ${profile.manager}/${profile.repoid})\n`);
  ctx.out(`proxmox-kernel-helper: ${ctx.settings.version.startsWith('9') ? '9.0.4' : '8.1.1'}\n`);
  ctx.out(`proxmox-kernel-${profile.kernel}-signed: ${kernelVersion}\n`);
  ctx.out(`proxmox-kernel-${kernelSeries}: ${kernelVersion}\n`);
  for (const name of Object.keys(packages).sort()) {
    if (name === 'proxmox-ve') continue;
    ctx.out(`${name}: ${packages[name]}\n`);
  }
  return 0;
}
