import { guestUptimeSeconds, runningPid } from '../guest-record.js';
import { isDriveKey, type VmConfig } from './config-format.js';
import type { ToolContext } from './context.js';
import { driveKeysInOrder } from './disk-create.js';
import { driveSizeBytes, parseDrive, parsePropertyString } from './property-string.js';

const MiB = 1024 * 1024;

// bootdisk_size: the size of the first disk in the boot order (or the first disk at all).
export function bootDiskSize(values: Record<string, string>): number {
  const order = parsePropertyString(values.boot ?? '').keys.order?.split(';') ?? [];
  const candidates = [...order.filter(isDriveKey), ...driveKeysInOrder(Object.keys(values))];
  for (const key of candidates) {
    const value = values[key];
    if (value === undefined) continue;
    const drive = parseDrive(value);
    if (drive.keys.media === 'cdrom') continue;
    return driveSizeBytes(drive) ?? 0;
  }
  return 0;
}

export function memoryBytes(values: Record<string, string>): number {
  const memory = values.memory === undefined ? 512 : Number(parsePropertyString(values.memory).keys.current ?? parsePropertyString(values.memory).head);
  return memory * MiB;
}

// QemuServer.pm `vmstatus($vmid, 1)` for one VM: numbers the simulator can know.
export function vmStatus(ctx: ToolContext, vmid: number, config: VmConfig): Record<string, unknown> {
  const values = config.values;
  const pid = runningPid(ctx.paths, vmid);
  const running = pid !== undefined;
  const maxmem = memoryBytes(values);
  const status: Record<string, unknown> = {
    cpus: Number(values.sockets ?? 1) * Number(values.cores ?? 1),
    disk: 0,
    diskread: 0,
    diskwrite: 0,
    maxdisk: bootDiskSize(values),
    maxmem,
    mem: running ? Math.floor(maxmem * 0.31) : 0,
    name: values.name ?? `VM ${vmid}`,
    netin: 0,
    netout: 0,
    qmpstatus: running ? 'running' : 'stopped',
    status: running ? 'running' : 'stopped',
    uptime: running ? guestUptimeSeconds(ctx.paths, vmid) : 0,
    vmid,
  };
  if (running) status.pid = pid;
  if (ctx.settings.version.startsWith('9')) status.memhost = running ? Math.floor(maxmem * 0.33) : 0;
  if (Object.keys(values).some((key) => /^serial\d+$/.test(key))) status.serial = 1;
  if (values.lock !== undefined) status.lock = values.lock;
  if (values.tags !== undefined) status.tags = values.tags;
  if (/^(1|on|yes|true)$/i.test(values.template ?? '')) status.template = 1;
  return status;
}
