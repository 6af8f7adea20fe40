import fs from 'node:fs';
import { faultsSchema, type Faults } from '../faults.js';
import { simPaths, SIM_ENV, type SimPaths } from '../paths.js';
import { hostSettingsSchema, type HostSettings } from '../settings.js';
import { PveDie } from './die.js';

// Everything one tool invocation needs: where the host lives, which node it runs on, settings and
// faults (read per call, so a test can change them between calls), and the output streams.
export interface ToolContext {
  paths: SimPaths;
  node: string;
  settings: HostSettings;
  faults: Faults;
  // The qm/pvesh subcommand, for faults that target commands (heldLock).
  command: string;
  out(text: string): void;
  err(text: string): void;
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

export function loadContext(env: NodeJS.ProcessEnv = process.env): ToolContext {
  const root = env[SIM_ENV.root];
  if (!root) throw new PveDie(`${SIM_ENV.root} is not set: run this through the simulated host's shell`);
  const paths = simPaths(root);
  const settings = hostSettingsSchema.parse(readJson(paths.hostJson) ?? {});
  const faults = readFaults(paths);
  const node = env[SIM_ENV.node] ?? settings.nodes[0]?.name ?? 'pve';
  return {
    paths,
    node,
    settings,
    faults,
    command: '',
    out: (text) => writeQuietly(1, text),
    err: (text) => writeQuietly(2, text),
  };
}

const closed = new Set<number>();

// A reader that went away (`qm list | head -1`) must not turn into an error of the tool itself.
function writeQuietly(fd: number, text: string): void {
  if (closed.has(fd)) return;
  try {
    fs.writeSync(fd, text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    closed.add(fd);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Files other processes read are replaced in one rename, never seen half-written.
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
