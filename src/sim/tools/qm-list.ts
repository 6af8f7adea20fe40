import type { ToolContext } from './context.js';
import { parseParams } from './getopt.js';
import { vmStatus } from './vm-status.js';
import { clusterVmlist, readConfig } from './vm-store.js';

const MiB = 1024 * 1024;
const GiB = 1024 ** 3;

// qm.pm `list` (§2): printf layout with trailing spaces; nothing at all without VMs.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { full: { type: 'boolean', optional: true } }, []);
  const rows: string[] = [];
  for (const { vmid, node } of clusterVmlist(ctx.paths, [ctx.node])) {
    const config = readConfig(ctx.paths, node, vmid);
    if (!config) continue;
    const status = vmStatus(ctx, vmid, config);
    const state = params.full === '1' ? String(status.qmpstatus) : String(status.status);
    rows.push(
      `${String(vmid).padStart(10)} ${String(status.name).padEnd(20)} ${state.padEnd(10)} ${String(Number(status.maxmem) / MiB).padEnd(10)} ${(Number(status.maxdisk) / GiB).toFixed(2).padStart(12)} ${String(status.pid ?? 0).padEnd(10)}\n`,
    );
  }
  if (rows.length === 0) return 0;
  ctx.out(`${'VMID'.padStart(10)} ${'NAME'.padEnd(20)} ${'STATUS'.padEnd(10)} ${'MEM(MB)'.padEnd(10)} ${'BOOTDISK(GB)'.padStart(12)} ${'PID'.padEnd(10)}\n`);
  for (const row of rows) ctx.out(row);
  return 0;
}
