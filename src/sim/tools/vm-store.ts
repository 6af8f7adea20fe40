import fs from 'node:fs';
import path from 'node:path';
import type { SimPaths } from '../paths.js';
import { parseVmConfig, serializeVmConfig, type VmConfig } from './config-format.js';
import type { ToolContext } from './context.js';
import { writeFileAtomic } from './context.js';
import { PveDie } from './die.js';
import { withFileLock } from './file-lock.js';

// The relative cfs path error messages use (QemuConfig `cfs_config_path`).
export function cfsPath(node: string, vmid: number): string {
  return `nodes/${node}/qemu-server/${vmid}.conf`;
}

export function nodeNames(ctx: { settings: ToolContext['settings'] }): string[] {
  return ctx.settings.nodes.map((node) => node.name);
}

// The cluster-wide vmlist pmxcfs keeps: every VM config on every node.
export function clusterVmlist(paths: SimPaths, nodes: readonly string[]): Array<{ vmid: number; node: string }> {
  const out: Array<{ vmid: number; node: string }> = [];
  for (const node of nodes) {
    let files: string[] = [];
    try {
      files = fs.readdirSync(paths.qemuServerDir(node));
    } catch {
      continue;
    }
    for (const file of files) {
      const match = /^(\d+)\.conf$/.exec(file);
      if (match) out.push({ vmid: Number(match[1]), node });
    }
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

export function vmOwner(ctx: ToolContext, vmid: number): string | undefined {
  return clusterVmlist(ctx.paths, nodeNames(ctx)).find((entry) => entry.vmid === vmid)?.node;
}

export function readConfig(paths: SimPaths, node: string, vmid: number): VmConfig | undefined {
  try {
    return parseVmConfig(fs.readFileSync(paths.vmConfig(node, vmid), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// AbstractConfig `load_config`: only the local node's directory, ENOENT gives exit 2.
export function loadConfig(ctx: ToolContext, vmid: number): VmConfig {
  const config = readConfig(ctx.paths, ctx.node, vmid);
  if (!config) throw new PveDie(`Configuration file '${cfsPath(ctx.node, vmid)}' does not exist`, 2);
  return config;
}

// Where the simulator notes when a VM's config first appeared (pvestatd's RRD has no entry before
// its next cycle, see pvesh-cluster.ts `resources`): sim/born/<vmid>, milliseconds since the epoch.
function bornFile(paths: SimPaths, vmid: number): string {
  return path.join(paths.sim, 'born', String(vmid));
}

// The claim of `qm create` / `qm clone`: the placeholder config (`lock: create|clone`), created
// only if no file exists (EEXIST otherwise), and the moment it appeared.
export function claimConfig(ctx: ToolContext, vmid: number, lock: 'create' | 'clone'): void {
  fs.writeFileSync(ctx.paths.vmConfig(ctx.node, vmid), `lock: ${lock}\n`, { flag: 'wx' });
  fs.mkdirSync(path.dirname(bornFile(ctx.paths, vmid)), { recursive: true });
  fs.writeFileSync(bornFile(ctx.paths, vmid), `${Date.now()}\n`);
}

// When VM <vmid> appeared: as noted at its claim; for a config written otherwise, its `meta:
// ctime=` (qm create's; a clone copies its source's, so the claim's note comes first), else the
// file's mtime.
export function configBornMs(paths: SimPaths, node: string, vmid: number, config: VmConfig): number {
  try {
    const noted = Number(fs.readFileSync(bornFile(paths, vmid), 'utf8'));
    if (Number.isFinite(noted) && noted > 0) return noted;
  } catch {
    // Not claimed through the tools.
  }
  const ctime = /(?:^|,)ctime=(\d+)(?:,|$)/.exec(config.values.meta ?? '')?.[1];
  if (ctime !== undefined) return Number(ctime) * 1000;
  try {
    return fs.statSync(paths.vmConfig(node, vmid)).mtimeMs;
  } catch {
    return 0;
  }
}

export function forgetBorn(paths: SimPaths, vmid: number): void {
  fs.rmSync(bornFile(paths, vmid), { force: true });
}

export function writeConfig(ctx: ToolContext, vmid: number, config: VmConfig): void {
  writeFileAtomic(ctx.paths.vmConfig(ctx.node, vmid), serializeVmConfig(config));
}

// AbstractConfig `check_lock`.
export function checkLock(config: VmConfig): void {
  const lock = config.values.lock;
  if (lock !== undefined) throw new PveDie(`VM is locked (${lock})`);
}

function heldByFault(ctx: ToolContext, vmid: number): boolean {
  const held = ctx.faults.heldLock;
  if (!held) return false;
  return (held.vmid === undefined || held.vmid === vmid) && (held.commands === undefined || held.commands.includes(ctx.command));
}

// `lock_config` (10 s) / `create_and_lock_config` (5 s): the flock on lock-<vmid>.conf.
export function lockConfig<T>(ctx: ToolContext, vmid: number, fn: () => Promise<T> | T, timeoutMs = ctx.settings.lockTimeoutMs): Promise<T> {
  fs.mkdirSync(ctx.paths.lockDir, { recursive: true });
  return withFileLock(
    ctx.paths.vmLock(vmid),
    {
      timeoutMs,
      shownPath: `/var/lock/qemu-server/lock-${vmid}.conf`,
      err: ctx.err,
      heldElsewhere: heldByFault(ctx, vmid),
    },
    fn,
  );
}
