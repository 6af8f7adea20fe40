import fs from 'node:fs';
import path from 'node:path';
import { faultsSchema, type Faults } from '../faults.js';
import { simPaths, SIM_ENV, type SimPaths } from '../paths.js';
import { hostSettingsSchema, type HostSettings } from '../settings.js';
import { PveDie } from './die.js';

// Where one call's output goes, and the caller's working directory.
export interface CallIo {
  cwd: string;
  out(text: string): void;
  err(text: string): void;
}

// Everything one tool invocation needs: where the host lives, which node it runs on, settings and
// faults (read per call, so a test can change them between calls), the caller's environment and
// working directory, and the output streams.
export interface ToolContext extends CallIo {
  paths: SimPaths;
  node: string;
  settings: HostSettings;
  faults: Faults;
  env: Record<string, string>;
  // The qm/pvesh subcommand, for faults that target commands (heldLock).
  command: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// sim/faults.json as it is now (a test may change it while a call runs).
export function readFaults(paths: SimPaths): Faults {
  return faultsSchema.parse(readJson(paths.faultsJson) ?? {});
}

export function loadContext(env: Record<string, string>, io: CallIo): ToolContext {
  const root = env[SIM_ENV.root];
  if (!root) throw new PveDie(`${SIM_ENV.root} is not set: run this through the simulated host's shell`);
  const paths = simPaths(root);
  const settings = hostSettingsSchema.parse(readJson(paths.hostJson) ?? {});
  const faults = readFaults(paths);
  const node = env[SIM_ENV.node] ?? settings.nodes[0]?.name ?? 'pve';
  return { paths, node, settings, faults, env, command: '', cwd: io.cwd, out: io.out, err: io.err };
}

// A file named on the command line, as the caller's process would open it.
export function callerFile(ctx: ToolContext, file: string): string {
  return path.resolve(ctx.cwd, file);
}

// Files other processes read are replaced in one rename, never seen half-written.
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
