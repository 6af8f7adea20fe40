import type { ToolContext } from './context.js';
import { encodeText } from './config-format.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
import { loadConfig } from './vm-store.js';

// qm.pm `config`: sorted `key: value` lines of vm_config, no digest, cipassword masked, the
// description encoded on one line. Pending changes are shown applied unless --current.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    { vmid: VMID_PROP, current: { type: 'boolean', optional: true }, snapshot: { type: 'string', optional: true } },
    ['vmid'],
  );
  const config = loadConfig(ctx, Number(params.vmid));
  const values: Record<string, string> = { ...config.values };
  let description = config.description;
  if (params.current !== '1') {
    const { delete: deleted = '', ...pending } = config.pending.values;
    Object.assign(values, pending);
    for (const key of deleted.split(',').filter(Boolean)) delete values[key.replace(/^!/, '')];
    if (config.pending.description !== undefined) description = config.pending.description;
  }
  if (description !== undefined) values.description = encodeText(description);
  if (values.cipassword) values.cipassword = '**********';
  for (const key of Object.keys(values).sort()) ctx.out(`${key}: ${values[key]}\n`);
  return 0;
}
