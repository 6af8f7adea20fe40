import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Faults } from '../faults.js';
import type { SimPaths } from '../paths.js';
import { PveDie } from './die.js';

// One section of etc/pve/storage.cfg (`<type>: <id>` then tab-indented `key value` lines).
export interface StorageConfig {
  id: string;
  type: string;
  props: Record<string, string>;
  content: string[];
  disabled: boolean;
  nodes?: string[];
  shared: boolean;
}

export function readStorageCfg(paths: SimPaths): { storages: StorageConfig[]; digest: string } {
  const raw = fs.existsSync(paths.storageCfg) ? fs.readFileSync(paths.storageCfg, 'utf8') : '';
  const storages: StorageConfig[] = [];
  let current: StorageConfig | undefined;
  for (const line of raw.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const head = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      current = { id: head[2] as string, type: head[1] as string, props: {}, content: [], disabled: false, shared: false };
      storages.push(current);
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!prop || !current) continue;
    const key = prop[1] as string;
    const value = prop[2] ?? '';
    if (key === 'content') current.content = value.split(',').filter(Boolean);
    else if (key === 'disable') current.disabled = true;
    else if (key === 'nodes') current.nodes = value.split(',').filter(Boolean);
    else if (key === 'shared') current.shared = value !== '0';
    current.props[key] = value === '' ? '1' : value;
  }
  return { storages, digest: crypto.createHash('sha1').update(raw).digest('hex') };
}

// PVE::Storage::storage_config.
export function storageConfig(paths: SimPaths, id: string): StorageConfig {
  const storage = readStorageCfg(paths).storages.find((entry) => entry.id === id);
  if (!storage) throw new PveDie(`storage '${id}' does not exist`);
  return storage;
}

export function enabledOnNode(storage: StorageConfig, node: string): boolean {
  return !storage.disabled && (storage.nodes === undefined || storage.nodes.includes(node));
}

// Storage.pm `activate_storage` (pve-storage 9.1.7 l.1352-1355): a failed connection check
// (an unreachable NFS/CIFS/iSCSI server) dies before anything on the storage is touched.
export function activateStorage(faults: Faults, storage: StorageConfig): void {
  if (faults.storageOffline?.includes(storage.id)) throw new PveDie(`storage '${storage.id}' is not online`);
}

export function isFileStorage(storage: StorageConfig): boolean {
  return ['dir', 'nfs', 'cifs', 'cephfs', 'glusterfs', 'btrfs'].includes(storage.type);
}

// iSCSI storages list `images` (plugindata content) but only hand out the target's existing LUNs:
// alloc_image dies "can't allocate space in iscsi storage" and status reports no sizes (pve-storage
// 9.1.7 ISCSIPlugin.pm l.335, l.402-406, l.469-476; ISCSIDirectPlugin.pm l.67, l.142-146).
export function isIscsiStorage(storage: StorageConfig): boolean {
  return storage.type === 'iscsi' || storage.type === 'iscsidirect';
}

// Where a dir storage's `path` lives inside the simulated root.
export function storageDir(paths: SimPaths, storage: StorageConfig): string {
  return path.join(paths.root, storage.props.path ?? `/mnt/pve/${storage.id}`);
}
