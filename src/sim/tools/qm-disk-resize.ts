import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseSize } from './format-size.js';
import { parseParams } from './getopt.js';
import { driveSizeBytes, parseDrive, printDrive } from './property-string.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, loadConfig, lockConfig, writeConfig } from './vm-store.js';
import { findVolume, resizeVolume } from './volumes.js';

// `resize_vm` (§6): a worker without $upid_exit, so every failure still exits 0.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    {
      vmid: VMID_PROP,
      disk: { type: 'string', enum: DISKS },
      size: { type: 'string', pattern: /^\+?\d+(\.\d+)?[KMGT]?$/ },
      skiplock: { type: 'boolean', optional: true },
      digest: { type: 'string', optional: true },
    },
    ['vmid', 'disk', 'size'],
  );
  const vmid = Number(params.vmid);
  const disk = params.disk as string;
  const sizeText = params.size as string;
  try {
    await lockConfig(ctx, vmid, async () => {
      const config = loadConfig(ctx, vmid);
      if (params.skiplock !== '1') checkLock(config);
      const value = config.values[disk];
      if (value === undefined) throw new PveDie(`disk '${disk}' does not exist`);
      const drive = parseDrive(value);
      if (drive.volid === '' || drive.volid === 'none') throw new PveDie(`disk '${disk}' has no associated volume`);
      if (drive.keys.media === 'cdrom') throw new PveDie("you can't resize a cdrom");
      const volume = findVolume(ctx.paths, drive.volid);
      const current = volume?.size ?? driveSizeBytes(drive);
      if (current === undefined) throw new PveDie(`Could not determine current size of volume '${drive.volid}'`);
      const amount = parseSize(sizeText.replace(/^\+/, '')) ?? 0;
      const next = sizeText.startsWith('+') ? current + amount : amount;
      if (next < current) throw new PveDie('shrinking disks is not supported');
      if (next === current) return;
      if (ctx.faults.resizeFail) throw new PveDie(`command '/sbin/lvextend -L${Math.ceil(next / 1024 ** 2)}m pve/${drive.volid.split(':')[1] ?? ''}' failed: exit code 5`);
      if (volume) await resizeVolume(ctx, drive.volid, next);
      config.values[disk] = printDrive(drive.volid, { ...drive.keys, size: String(next) });
      writeConfig(ctx, vmid, config);
    });
  } catch (error) {
    if (!(error instanceof PveDie)) throw error;
    ctx.err(`${error.message.replace(/\n+$/, '').replaceAll('\n', ' ')}\n`);
  }
  return 0;
}

const DISKS = [
  ...[0, 1, 2, 3].map((n) => `ide${n}`),
  ...Array.from({ length: 31 }, (_, n) => `scsi${n}`),
  ...Array.from({ length: 16 }, (_, n) => `virtio${n}`),
  ...Array.from({ length: 6 }, (_, n) => `sata${n}`),
  'efidisk0',
  'tpmstate0',
];
