import { runningPid } from '../guest-record.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, loadConfig, lockConfig, writeConfig } from './vm-store.js';

// `template`: marks a stopped VM as a template (volumes keep their names; real base-volume
// renaming to base-<vmid>-disk-N is not simulated).
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { vmid: VMID_PROP, disk: { type: 'string', optional: true } }, ['vmid']);
  const vmid = Number(params.vmid);
  await lockConfig(ctx, vmid, () => {
    const config = loadConfig(ctx, vmid);
    checkLock(config);
    if (/^(1|on|yes|true)$/i.test(config.values.template ?? '')) throw new PveDie('you can\'t convert a template to a template');
    if (runningPid(ctx.paths, vmid) !== undefined) throw new PveDie("you can't convert a running VM to a template");
    config.values.template = '1';
    writeConfig(ctx, vmid, config);
  });
  return 0;
}
