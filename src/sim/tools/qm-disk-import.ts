import fs from 'node:fs';
import { callerFile, type ToolContext } from './context.js';
import { PveDie } from './die.js';
import { imageInfo } from './image-size.js';
import { reportImport } from './import-progress.js';
import { parseParams } from './getopt.js';
import { printDrive } from './property-string.js';
import { storageConfig, enabledOnNode } from './storage-config.js';
import { VMID_PROP } from './vm-schema.js';
import { checkLock, loadConfig, lockConfig, writeConfig } from './vm-store.js';
import { allocVolume, freeVolume, shownVolumePath } from './volumes.js';

// qm.pm `importdisk` (§4): not a worker; the success line depends on the qemu-server version.
export async function run(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    {
      vmid: VMID_PROP,
      source: { type: 'string' },
      storage: { type: 'string' },
      format: { type: 'string', optional: true, enum: ['raw', 'qcow2', 'vmdk'] },
      'target-disk': { type: 'string', optional: true },
    },
    ['vmid', 'source', 'storage'],
  );
  const vmid = Number(params.vmid);
  const source = params.source as string;
  const storageId = params.storage as string;
  const oldLine = ctx.settings.version === '8.2';

  await lockConfig(ctx, vmid, async () => {
    const config = loadConfig(ctx, vmid);
    checkLock(config);
    const file = callerFile(ctx, source);
    const info = imageInfo(file);
    if (!fs.existsSync(file) || !info) throw new PveDie(`${source}: non-existent or non-regular file`, 2);
    const storage = storageConfig(ctx.paths, storageId);
    if (!enabledOnNode(storage, ctx.node)) throw new PveDie(`storage '${storageId}' is disabled`);
    if (!storage.content.includes('images')) throw new PveDie(`storage ${storageId} does not support vm images`);
    if (params.format === 'qcow2' && storage.type !== 'dir') {
      ctx.err(`format 'qcow2' is not supported by the target storage - using 'raw' instead\n`);
    }
    ctx.out(`importing disk '${source}' to VM ${vmid} ...\n`);
    const volume = await allocVolume(ctx, storage.id, vmid, info.size, info.guest ? { guest: info.guest } : {});
    try {
      reportImport(ctx, info.size, source, info.format, shownVolumePath(storage, volume.volname));
    } catch (error) {
      freeVolume(ctx, volume.volid);
      throw error;
    }
    const target = params['target-disk'];
    let slot = target;
    if (slot === undefined) {
      for (let n = 0; slot === undefined; n += 1) if (config.values[`unused${n}`] === undefined) slot = `unused${n}`;
    }
    config.values[slot] = target === undefined ? volume.volid : printDrive(volume.volid, { size: String(info.size) });
    writeConfig(ctx, vmid, config);
    ctx.out(oldLine ? `Successfully imported disk as '${slot}:${volume.volid}'\n` : `${slot}: successfully imported disk '${config.values[slot]}'\n`);
  });
  return 0;
}
