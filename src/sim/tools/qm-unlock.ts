import type { ToolContext } from './context.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
import { loadConfig, lockConfig, writeConfig } from './vm-store.js';

// qm.pm `unlock`: drops `lock` (also a pending one) under the flock; prints nothing.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP }, ['vmid']);
  const vmid = Number(params.vmid);
  await lockConfig(ctx, vmid, () => {
    const config = loadConfig(ctx, vmid);
    delete config.values.lock;
    delete config.pending.values.lock;
    writeConfig(ctx, vmid, config);
  });
  return 0;
}
