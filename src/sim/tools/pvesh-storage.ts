import type { ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import type { GetHandler } from './pvesh-routes.js';
import { assertReachable, nodeOnline, resolveNode } from './pvesh-node-param.js';
import { enabledOnNode, isIscsiStorage, readStorageCfg, type StorageConfig } from './storage-config.js';
import { storageCapacity, storageUsed } from './volumes.js';

// `storage.cfg` section as API2/Storage/Config.pm `read` returns it.
function configEntry(storage: StorageConfig, digest: string): Record<string, unknown> {
  const entry: Record<string, unknown> = { digest, storage: storage.id, type: storage.type };
  for (const [key, value] of Object.entries(storage.props)) {
    if (key === 'content') entry.content = storage.content.join(',');
    else if (key === 'disable' || key === 'shared') entry[key] = 1;
    else entry[key] = value;
  }
  return entry;
}

export const storageIndex: GetHandler = async (ctx, _path, params) => {
  const { storages, digest } = readStorageCfg(ctx.paths);
  return storages.filter((storage) => params.type === undefined || storage.type === params.type).map((storage) => configEntry(storage, digest));
};

export const storageRead: GetHandler = async (ctx, pathParams) => {
  const { storages, digest } = readStorageCfg(ctx.paths);
  const storage = storages.find((entry) => entry.id === pathParams.storage);
  if (!storage) throw new PveDie(`storage '${pathParams.storage ?? ''}' does not exist`);
  return configEntry(storage, digest);
};

// Storage.pm `storage_info` for one node: capacity from settings, usage from allocated volumes.
export function nodeStorageEntries(ctx: ToolContext, node: string): Array<Record<string, unknown>> {
  return readStorageCfg(ctx.paths)
    .storages.filter((storage) => storage.nodes === undefined || storage.nodes.includes(node))
    .map((storage) => {
      const active = enabledOnNode(storage, node) && nodeOnline(ctx, node) && !ctx.faults.storageOffline?.includes(storage.id);
      const sized = active && !isIscsiStorage(storage);
      const total = sized ? storageCapacity(ctx, storage.id) : 0;
      const used = sized ? storageUsed(ctx.paths, storage, node) : 0;
      return {
        active: active ? 1 : 0,
        avail: Math.max(0, total - used),
        content: storage.content.join(','),
        enabled: storage.disabled ? 0 : 1,
        shared: storage.shared ? 1 : 0,
        storage: storage.id,
        total,
        type: storage.type,
        used,
        used_fraction: total > 0 ? used / total : 0,
      };
    });
}

export const nodeStorageList: GetHandler = async (ctx, pathParams, params) => {
  const node = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, node);
  const wanted = params.content?.split(',').filter(Boolean);
  return nodeStorageEntries(ctx, node).filter((entry) => {
    if (params.storage !== undefined && entry.storage !== params.storage) return false;
    if (params.enabled === '1' && entry.active !== 1) return false;
    if (wanted && !wanted.some((content) => String(entry.content).split(',').includes(content))) return false;
    return true;
  });
};

export const nodeStorageStatus: GetHandler = async (ctx, pathParams) => {
  const node = resolveNode(ctx, pathParams.node ?? '');
  assertReachable(ctx, node);
  const entry = nodeStorageEntries(ctx, node).find((candidate) => candidate.storage === pathParams.storage);
  if (!entry) throw paramExc({ storage: 'No such storage.' });
  const { storage: _storage, used_fraction: _fraction, ...status } = entry;
  return status;
};
