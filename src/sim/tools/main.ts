import fs from 'node:fs';
import type { CallRecord } from '../call-log.js';
import { loadContext, sleep, type ToolContext } from './context.js';
import { ParamError, PveDie, withNewline } from './die.js';

// Entry of the simulated host tools: `main.js <tool> args...`. Every call is logged to
// sim/calls.jsonl, and faults.latencyMs is paid up front like Perl's start-up cost.
type ToolRunner = (ctx: ToolContext, args: string[]) => Promise<number>;

const TOOLS: Record<string, () => Promise<ToolRunner>> = {
  qm: async () => (await import('./qm.js')).runQm,
  pvesh: async () => (await import('./pvesh.js')).runPvesh,
  pvesm: async () => (await import('./pvesm.js')).runPvesm,
  pveversion: async () => (await import('./pveversion.js')).runPveversion,
};

function report(error: unknown, ctx: ToolContext | undefined): number {
  const err = ctx?.err ?? ((text: string) => fs.writeSync(2, text));
  if (error instanceof ParamError) {
    err(error.render());
    return 255;
  }
  if (error instanceof PveDie) {
    err(withNewline(error.message));
    return error.exitCode;
  }
  err(`linus-sim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 70;
}

async function main(): Promise<number> {
  const started = Date.now();
  const [tool = '', ...args] = process.argv.slice(2);
  let ctx: ToolContext | undefined;
  let exitCode: number;
  try {
    ctx = loadContext();
    if (ctx.faults.latencyMs) await sleep(ctx.faults.latencyMs);
    const load = TOOLS[tool];
    if (!load) throw new PveDie(`linus-sim: unknown tool '${tool}'`, 127);
    exitCode = await (await load())(ctx, args);
  } catch (error) {
    exitCode = report(error, ctx);
  }
  if (ctx) {
    const record: CallRecord = {
      time: new Date(started).toISOString(),
      tool,
      argv: args,
      exitCode,
      durationMs: Date.now() - started,
      node: ctx.node,
    };
    fs.appendFileSync(ctx.paths.callLog, `${JSON.stringify(record)}\n`);
  }
  return exitCode;
}

process.exit(await main());
