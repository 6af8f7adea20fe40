import fs from 'node:fs';
import path from 'node:path';
import { cpuHasX86_64v2, type GuestImage } from './guest-image.js';
import type { ConfigSection } from './tools/config-format.js';
import { hasCloudInit } from './tools/config-format.js';
import type { ToolContext } from './tools/context.js';
import { driveKeysInOrder } from './tools/disk-create.js';
import { PveDie } from './tools/die.js';
import { parseDrive, parsePropertyString } from './tools/property-string.js';
import { storageConfig, storageDir } from './tools/storage-config.js';
import { findVolume, parseVolid } from './tools/volumes.js';

// What a started VM's guest will do, decided at `qm start` from its config and boot disk.
export interface GuestPlan {
  // The system on the boot disk, if there is one.
  image?: GuestImage;
  // The guest OS comes up: there is a system on the boot disk and the CPU type runs its kernel.
  boots: boolean;
  // When qemu-guest-agent answers, in ms after start; undefined: never.
  agentAfterMs?: number;
}

// The first disk of `boot: order=...` (or of the drives in bus order), without CD-ROMs.
function bootVolumeGuest(ctx: ToolContext, values: Record<string, string>): GuestImage | undefined {
  const order = /(?:^|,)order=([^,]+)/.exec(values.boot ?? '')?.[1]?.split(';') ?? driveKeysInOrder(Object.keys(values));
  for (const key of order) {
    const value = values[key];
    if (value === undefined || !/^(ide|sata|scsi|virtio)\d+$/.test(key)) continue;
    const drive = parseDrive(value);
    if (drive.keys.media === 'cdrom') continue;
    return findVolume(ctx.paths, drive.volid)?.guest;
  }
  return undefined;
}

// CPUConfig.pm `get_default_cpu_type`: kvm64 without a `cpu` option (§15.1).
export function cputypeOf(values: Record<string, string>): string {
  if (values.cpu === undefined) return 'kvm64';
  const parsed = parsePropertyString(values.cpu);
  return parsed.keys.cputype ?? parsed.head ?? 'kvm64';
}

// Cloudinit.pm `read_cloudinit_snippets_file` while the ISO is generated at start: each cicustom
// volume must be a snippets volume whose file exists (file_get_contents dies otherwise).
function readSnippet(ctx: ToolContext, volid: string): string {
  const parsed = parseVolid(volid);
  const match = parsed === undefined ? null : /^snippets\/(.+)$/.exec(parsed.volname);
  if (!parsed || !match) throw new PveDie(`${volid} is not in the snippets directory`);
  const storage = storageConfig(ctx.paths, parsed.storage);
  const file = path.join(storageDir(ctx.paths, storage), 'snippets', match[1] as string);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new PveDie(`can't open '${path.posix.join(storage.props.path ?? `/mnt/pve/${storage.id}`, 'snippets', match[1] as string)}' - No such file or directory`);
  }
}

// Whether cloud-config text installs qemu-guest-agent and starts it: the package in `packages:`
// and a `runcmd:` entry naming it (Debian's package does not start the service by itself until
// the next boot brings the virtio port up).
export function installsAgent(cloudConfig: string): boolean {
  let section = '';
  let listed = false;
  let started = false;
  for (const line of cloudConfig.split('\n')) {
    const top = /^([a-z_]+):/.exec(line);
    if (top) {
      section = top[1] as string;
      continue;
    }
    if (section === 'packages' && /^\s*-\s*['"]?qemu-guest-agent['"]?\s*$/.test(line)) listed = true;
    if (section === 'runcmd' && /qemu-guest-agent/.test(line) && /\b(start|restart|--now)\b/.test(line)) started = true;
  }
  return listed && started;
}

export function planGuest(ctx: ToolContext, config: ConfigSection): GuestPlan {
  const values = config.values;
  const image = bootVolumeGuest(ctx, values);
  const boots = image !== undefined && (!image.needsX86_64v2 || cpuHasX86_64v2(cputypeOf(values)));
  let vendorAgent = false;
  if (hasCloudInit(config) && values.cicustom !== undefined) {
    const files = parsePropertyString(values.cicustom).keys;
    for (const volid of [files.user, files.network, files.meta, files.vendor]) if (volid !== undefined) readSnippet(ctx, volid);
    if (files.vendor !== undefined) vendorAgent = installsAgent(readSnippet(ctx, files.vendor));
  }
  const plan: GuestPlan = { ...(image ? { image } : {}), boots };
  if (!boots || !image) return plan;
  const { bootDelayMs, agentInstallDelayMs, packageUpgradeDelayMs } = ctx.settings;
  if (image.agent) return { ...plan, agentAfterMs: bootDelayMs };
  if (!vendorAgent) return plan;
  // Cloudinit.pm: `package_upgrade: true` unless ciupgrade is 0; the upgrade runs before packages.
  const upgrade = !/^(0|off|no|false)$/i.test(values.ciupgrade ?? '1');
  return { ...plan, agentAfterMs: bootDelayMs + (upgrade ? packageUpgradeDelayMs : 0) + agentInstallDelayMs };
}
