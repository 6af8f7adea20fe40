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

// The content types each plugin can hold: `plugindata` content->[0] of pve-storage
// PVE/Storage/*Plugin.pm (9.x: DirPlugin l.25-39, NFSPlugin l.54-67, CIFSPlugin l.113-126,
// CephFSPlugin l.117-121, LvmThinPlugin l.34, LVMPlugin l.409, ZFSPoolPlugin l.57, ISCSIPlugin
// l.335, RBDPlugin l.414, PBSPlugin l.33). `import` came to the file plugins with pve-storage 8.2.8
// (commits d955a46, 974081c), after the simulator's 8.2 profile.
export function pluginContentTypes(type: string, version: string): string[] {
  const file = ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', ...(version === '8.2' ? [] : ['import'])];
  const table: Record<string, string[]> = {
    dir: [...file, 'none'],
    btrfs: [...file, 'none'],
    nfs: file,
    cifs: file,
    glusterfs: file,
    cephfs: ['vztmpl', 'iso', 'backup', 'snippets', ...(version === '8.2' ? [] : ['import'])],
    lvmthin: ['images', 'rootdir'],
    lvm: ['images', 'rootdir'],
    zfspool: ['images', 'rootdir'],
    rbd: ['images', 'rootdir'],
    zfs: ['images'],
    iscsi: ['images', 'none'],
    iscsidirect: ['images', 'none'],
    pbs: ['backup', 'none'],
    esxi: ['import'],
  };
  return table[type] ?? [];
}

// Writes one section's `content` line (SectionConfig.pm write_config l.1715-1804 writes the whole
// file; only this line differs here): replaced in place, or added after the section's last line.
export function writeStorageContent(paths: SimPaths, id: string, content: string[]): void {
  const raw = fs.existsSync(paths.storageCfg) ? fs.readFileSync(paths.storageCfg, 'utf8') : '';
  const lines = raw.split('\n');
  const line = `\tcontent ${content.length > 0 ? content.join(',') : 'none'}`;
  const start = lines.findIndex((text) => new RegExp(`^\\S+:\\s*${id.replace(/[.]/g, '\\.')}\\s*$`).test(text));
  if (start < 0) throw new PveDie(`storage '${id}' does not exist`);
  let end = start + 1;
  while (end < lines.length && /^\s+\S/.test(lines[end] as string)) end += 1;
  const at = lines.slice(start + 1, end).findIndex((text) => /^\s+content(\s|$)/.test(text));
  if (at >= 0) lines[start + 1 + at] = line;
  else lines.splice(end, 0, line);
  const tmp = `${paths.storageCfg}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, lines.join('\n'));
  fs.renameSync(tmp, paths.storageCfg);
}
