import fs from 'node:fs';
import { killCaller, sleep } from './caller.js';
import { readFaults, type ToolContext } from './context.js';

// How long a 'hang' lasts at most, so a forgotten one cannot outlive a test run.
const HANG_LIMIT_MS = 10 * 60_000;

// faults.createCrash, where it strikes: in `qm create`'s worker, half-way through the import.
// SIGKILL leaves what a real worker killed there leaves: the `lock: create` config, the volumes
// allocated so far, and a lock file whose holder is dead (released, as a flock dies with its holder).
// Killing the caller's process group while it hangs does the same (the call stops in its wait).
export async function createCrashPoint(ctx: ToolContext): Promise<void> {
  if (ctx.command !== 'create' || ctx.faults.createCrash === undefined) return;
  if (ctx.faults.createCrash === 'hang') {
    const deadline = Date.now() + HANG_LIMIT_MS;
    while (Date.now() < deadline && fs.existsSync(ctx.paths.root)) {
      await sleep(100);
      let hanging = true;
      try {
        hanging = readFaults(ctx.paths).createCrash === 'hang';
      } catch {
        // faults.json caught half-written: keep waiting.
      }
      if (!hanging) return;
    }
  }
  await killCaller();
}
