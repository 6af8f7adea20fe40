import type { ToolContext } from './context.js';
import { parseParams } from './getopt.js';
import { vmStatus } from './vm-status.js';
import { VMID_PROP } from './vm-schema.js';
import { loadConfig } from './vm-store.js';

// qm.pm `status` (§1): `status: <qmpstatus>`, or every vmstatus key with --verbose.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, verbose: { type: 'boolean', optional: true } }, ['vmid']);
  const vmid = Number(params.vmid);
  const status = vmStatus(ctx, vmid, loadConfig(ctx, vmid));
  if (params.verbose !== '1') {
    ctx.out(`status: ${String(status.qmpstatus ?? status.status ?? 'unknown')}\n`);
    return 0;
  }
  for (const key of Object.keys(status).sort()) {
    if (key === 'cpu' || key === 'relcpu') continue;
    ctx.out(`${key}: ${String(status[key])}\n`);
  }
  return 0;
}
