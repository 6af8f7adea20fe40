import type { ToolContext } from './context.js';
import { parseParams } from './getopt.js';
import { startVm } from './vm-start.js';
import { VMID_PROP } from './vm-schema.js';
import { lockConfig } from './vm-store.js';

const bool = { type: 'boolean', optional: true } as const;
const str = { type: 'string', optional: true } as const;

export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    { vmid: VMID_PROP, skiplock: bool, timeout: { type: 'integer', optional: true, minimum: 0 }, machine: str, migratedfrom: str, 'force-cpu': str, stateuri: str, targetstorage: str },
    ['vmid'],
  );
  const vmid = Number(params.vmid);
  await lockConfig(ctx, vmid, () => startVm(ctx, vmid, { skiplock: params.skiplock === '1' }));
  return 0;
}
