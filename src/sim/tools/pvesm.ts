import path from 'node:path';
import { dispatch, type CommandTree } from './command-table.js';
import type { ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import { parseParams } from './getopt.js';
import { nodeStorageEntries } from './pvesh-storage.js';
import { isFileStorage, pluginContentTypes, readStorageCfg, storageConfig, storageDir, writeStorageContent, type StorageConfig } from './storage-config.js';
import { VMID_PROP } from './vm-schema.js';
import { allocVolume, findVolume, freeVolume, listVolumes, parseVolid, shownVolumePath } from './volumes.js';

const str = { type: 'string', optional: true } as const;

// pve-storage PVE/CLI/pvesm.pm `$print_status`.
async function status(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { content: str, enabled: { type: 'boolean', optional: true }, storage: str, target: str, format: { type: 'boolean', optional: true } }, []);
  const entries = nodeStorageEntries(ctx, ctx.node).filter((entry) => params.storage === undefined || entry.storage === params.storage);
  if (params.storage !== undefined && entries.length === 0) throw new PveDie(`storage '${params.storage}' does not exist`);
  const width = Math.max(0, ...entries.map((entry) => String(entry.storage).length)) + 1;
  ctx.out(`${'Name'.padEnd(width)} ${'Type'.padStart(10)} ${'Status'.padStart(10)} ${'Total (KiB)'.padStart(15)} ${'Used (KiB)'.padStart(15)} ${'Available (KiB)'.padStart(15)} ${'%'.padStart(8)}\n`);
  for (const entry of [...entries].sort((a, b) => String(a.storage).localeCompare(String(b.storage)))) {
    const total = Number(entry.total);
    const used = Number(entry.used);
    let state = entry.active ? 'active' : 'inactive';
    let percent = `${(total > 0 ? (used * 100) / total : 0).toFixed(2).padStart(7)}%`;
    if (!entry.enabled) {
      state = 'disabled';
      percent = 'N/A'.padStart(8);
    }
    const kib = (value: unknown) => String(Math.trunc(Number(value) / 1024)).padStart(15);
    ctx.out(`${String(entry.storage).padEnd(width)} ${String(entry.type).padStart(10)} ${state.padStart(10)} ${kib(total)} ${kib(used)} ${kib(entry.avail)} ${percent}\n`);
  }
  return 0;
}

async function pathCmd(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { volume: { type: 'string' } }, ['volume']);
  const volid = params.volume as string;
  const parsed = parseVolid(volid);
  if (!parsed) throw new PveDie(`unable to parse volume ID '${volid}'`);
  const storage = storageConfig(ctx.paths, parsed.storage);
  // Plugin.pm parse_volname/filesystem_path: file content lives in its own subdirectory. Those
  // paths name where the file really is inside the simulated root, so the one who asked can write it.
  const file = /^(snippets|import)\/(.+)$/.exec(parsed.volname);
  if (file && isFileStorage(storage)) {
    ctx.out(`${path.join(storageDir(ctx.paths, storage), file[1] as string, file[2] as string)}\n`);
    return 0;
  }
  ctx.out(`${shownVolumePath(storage, parsed.volname)}\n`);
  return 0;
}

// pve-storage `parse_id` (the `pve-storage-id` format).
function verifyStorageId(value: string): void {
  if (value.length < 2) throw new Error(`storage ID '${value}' cannot be shorter than 2 characters\n`);
  if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(value)) throw new Error(`storage ID '${value}' contains illegal characters\n`);
}

// Plugin.pm `verify_content` (the `pve-storage-content` format; dir allows every type).
const CONTENT_TYPES = ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'none', 'import'];
function verifyContent(value: string): void {
  if (!CONTENT_TYPES.includes(value)) throw new Error(`invalid content type '${value}'\n`);
}

// `pve-storage-content-list`: each item of split_list (JSONSchema.pm check_format l.999-1004).
function verifyContentList(value: string): void {
  for (const item of value.split(/[\s,;]+/).filter(Boolean)) verifyContent(item);
}

const STORAGE_PROP = { type: 'string', format: verifyStorageId } as const;

// Content.pm `index` (Storage.pm `volume_list`: the content types the storage has, sorted by
// lowercased volid) printed by pvesm.pm `$print_content`: volumes with a VMID first, columns sized
// to the longest volid and the largest size. Only volumes (images) are simulated: iso, vztmpl,
// backup, snippets and import files are not listed.
async function list(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { storage: STORAGE_PROP, content: { ...str, format: verifyContent }, vmid: { ...VMID_PROP, optional: true } }, ['storage']);
  const storage = storageConfig(ctx.paths, params.storage as string);
  const wanted = params.content === undefined || params.content === 'images';
  const volumes = listVolumes(ctx.paths)
    .filter((volume) => wanted && storage.content.includes('images') && volume.storage === storage.id)
    // A storage that is not shared is a separate pool on each node.
    .filter((volume) => storage.shared || volume.node === undefined || volume.node === ctx.node)
    .filter((volume) => params.vmid === undefined || volume.vmid === Number(params.vmid))
    .sort((a, b) => (a.volid.toLowerCase() < b.volid.toLowerCase() ? -1 : a.volid.toLowerCase() > b.volid.toLowerCase() ? 1 : 0));
  const nameWidth = Math.max(0, ...volumes.map((volume) => volume.volid.length));
  const sizeWidth = String(Math.max(0, ...volumes.map((volume) => volume.size))).length;
  const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(nameWidth)} ${b.padEnd(7)} ${c.padEnd(9)} ${d.padStart(sizeWidth)}`;
  ctx.out(`${row('Volid', 'Format', 'Type', 'Size')} VMID\n`);
  for (const volume of volumes) ctx.out(`${row(volume.volid, volume.format, 'images', String(volume.size))} ${volume.vmid}\n`);
  return 0;
}

async function alloc(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    { storage: { type: 'string' }, vmid: VMID_PROP, filename: { type: 'string' }, size: { type: 'string', pattern: /^\d+[MG]?$/ }, format: { type: 'string', optional: true, enum: ['raw', 'qcow2', 'subvol', 'vmdk'] } },
    ['storage', 'vmid', 'filename', 'size'],
  );
  const match = /^(\d+)([MG]?)$/.exec(params.size as string);
  const size = Number(match?.[1]) * (match?.[2] === 'G' ? 1024 ** 3 : match?.[2] === 'M' ? 1024 ** 2 : 1024);
  const filename = params.filename as string;
  const vmid = Number(params.vmid);
  const name = /^vm-\d+-/.test(filename) ? filename.replace(/\.(raw|qcow2|vmdk)$/, '') : undefined;
  if (name !== undefined && !name.startsWith(`vm-${vmid}-`)) throw new PveDie(`illegal name '${filename}' - should be 'vm-${vmid}-*'`);
  const format = params.format === 'qcow2' || /\.qcow2$/.test(filename) ? 'qcow2' : 'raw';
  const volume = await allocVolume(ctx, params.storage as string, vmid, size, { name, format });
  ctx.out(`successfully created '${volume.volid}'\n`);
  return 0;
}

// Plugin.pm / LvmThinPlugin.pm `parse_volname` for the volume names the simulator allocates.
function checkVolname(storage: StorageConfig, volname: string): void {
  if (isFileStorage(storage)) {
    if (!/^\d+\/\S+$/.test(volname) && !/^(iso|vztmpl|backup|snippets|import)\/[^/]+$/.test(volname)) {
      throw new PveDie(`unable to parse directory volume name '${volname}'`);
    }
  } else if (!/^(vm|base)-\d+-\S+$/.test(volname)) {
    throw new PveDie(`unable to parse lvm volume name '${volname}'`);
  }
}

// Content.pm `delete`: the volume ID is checked (400s, then `storage_config` and `parse_volname`
// dies), then a worker runs `vdisk_free` and prints `Removed volume '<volid>'`. pvesm.pm `free`
// has no `$upid_exit`, so the command exits 0 even when the worker fails. An LVM volume that is
// not there is skipped silently (LvmThinPlugin `free_image`); a missing file is only a warning
// (Plugin `free_image`), on stdout like everything a worker prints.
async function free(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(args, { volume: { type: 'string' }, delay: { type: 'integer', optional: true, minimum: 1, maximum: 30 }, storage: { ...STORAGE_PROP, optional: true } }, ['volume']);
  const volume = params.volume as string;
  let volid = volume;
  if (volume.includes(':')) {
    const parsed = parseVolid(volume);
    if (!parsed) throw paramExc({ volume: `unable to parse volume ID '${volume}'\n` });
    if (params.storage !== undefined && parsed.storage !== params.storage) throw paramExc({ volume: `storage ID mismatch (${parsed.storage} != ${params.storage})\n` });
  } else {
    if (params.storage === undefined) throw paramExc({ volume: 'no storage specified - incomplete volume ID' });
    volid = `${params.storage}:${volume}`;
  }
  const { storage: storageId, volname } = parseVolid(volid) as { storage: string; volname: string };
  const storage = storageConfig(ctx.paths, storageId);
  checkVolname(storage, volname);
  if (findVolume(ctx.paths, volid)) freeVolume(ctx, volid);
  else if (isFileStorage(storage)) ctx.out(`disk image '${shownVolumePath(storage, volname)}' does not exist\n`);
  ctx.out(`Removed volume '${volid}'\n`);
  return 0;
}

// pvesm.pm `set` → API2/Storage/Config.pm `update` (9.x l.335-412): the cmddef has no output
// formatter, so success prints nothing. What dies inside lock_storage_config is prefixed
// "update storage failed: " (Storage.pm l.242-250). Of the plugin options only content (and the
// digest guard) are simulated: other options are refused as unknown.
async function set(ctx: ToolContext, args: string[]): Promise<number> {
  const params = parseParams(
    args,
    {
      storage: STORAGE_PROP,
      content: { type: 'string', optional: true, format: verifyContentList },
      digest: { type: 'string', optional: true, maxLength: 64 },
    },
    ['storage'],
  );
  const failed = (message: string) => new PveDie(`update storage failed: ${message}`);
  const { storages, digest } = readStorageCfg(ctx.paths);
  // l.352 SectionConfig::assert_if_modified → Tools.pm l.868-874.
  if (params.digest && params.digest !== digest) throw failed('detected modified configuration - file changed by other user? Try again.');
  // l.354 storage_config (Storage.pm l.252-262).
  const storage = storages.find((entry) => entry.id === params.storage);
  if (!storage) throw failed(`storage '${params.storage}' does not exist`);
  if (params.content === undefined) return 0;
  // l.361 check_config → Plugin.pm decode_value l.470-496: a type the plugin cannot hold is a
  // warning and dropped; what remains must not mix none with others, nor be empty unless none is valid.
  const valid = pluginContentTypes(storage.type, ctx.settings.version);
  const content: string[] = [];
  for (const item of params.content.split(/[\s,;]+/).filter(Boolean)) {
    if (!valid.includes(item)) {
      ctx.err(`storage does not support content type '${item}'\n`);
      continue;
    }
    if (!content.includes(item)) content.push(item);
  }
  if (content.includes('none') && content.length > 1) throw failed("unable to combine 'none' with other content types");
  if (content.length === 0 && !valid.includes('none')) throw failed("storage does not support content type 'none'");
  // encode_value (l.543-557): `none` for an empty set.
  writeStorageContent(ctx.paths, storage.id, content.filter((item) => item !== 'none'));
  return 0;
}

const PVESM: CommandTree = {
  alloc: { usage: 'pvesm alloc <storage> <vmid> <filename> <size> [OPTIONS]', load: async () => alloc },
  free: { usage: 'pvesm free <volume> [OPTIONS]', load: async () => free },
  list: { usage: 'pvesm list <storage> [OPTIONS]', load: async () => list },
  path: { usage: 'pvesm path <volume>', load: async () => pathCmd },
  set: { usage: 'pvesm set <storage> [OPTIONS]', load: async () => set },
  status: { usage: 'pvesm status  [OPTIONS]', load: async () => status },
};

export function runPvesm(ctx: ToolContext, args: string[]): Promise<number> {
  return dispatch(ctx, 'pvesm', PVESM, args);
}
