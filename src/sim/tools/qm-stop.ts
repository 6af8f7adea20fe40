import fs from 'node:fs';
import { stopGuest } from '../guest-control.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, loadConfig, lockConfig } from './vm-store.js';

const bool = { type: 'boolean', optional: true } as const;

// `vm_stop` (§7): a missing config is a direct die; a stopped VM is a silent no-op.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    { vmid: VMID_PROP, skiplock: bool, keepActive: bool, 'overrule-shutdown': bool, timeout: { type: 'integer', optional: true, minimum: 0 }, migratedfrom: { type: 'string', optional: true } },
    ['vmid'],
  );
  const vmid = Number(params.vmid);
  if (!fs.existsSync(ctx.paths.vmConfig(ctx.node, vmid))) {
    throw new PveDie(`unable to find configuration file for VM ${vmid} on node '${ctx.node}'`, 2);
  }
  await lockConfig(ctx, vmid, async () => {
    if (params.skiplock !== '1') checkLock(loadConfig(ctx, vmid));
    await stopGuest(ctx.paths, vmid);
  });
  return 0;
}
