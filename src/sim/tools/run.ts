import fs from 'node:fs';
import type { CallRecord } from '../call-log.js';
import { sleep, survive } from './caller.js';
import { loadContext, type CallIo, type ToolContext } from './context.js';
import { ParamError, PveDie, withNewline } from './die.js';

// One call of a simulated host tool, as the tool server received it from a shim's client.
export interface ToolCall {
  tool: string;
  args: string[];
  env: Record<string, string>;
}

type ToolRunner = (ctx: ToolContext, args: string[]) => Promise<number>;

const TOOLS: Record<string, () => Promise<ToolRunner>> = {
  qm: async () => (await import('./qm.js')).runQm,
  pvesh: async () => (await import('./pvesh.js')).runPvesh,
  pvesm: async () => (await import('./pvesm.js')).runPvesm,
  pveversion: async () => (await import('./pveversion.js')).runPveversion,
};

function report(error: unknown, err: (text: string) => void): number {
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

// Runs the call and logs it to sim/calls.jsonl; faults.latencyMs is paid up front like Perl's
// start-up cost. A call whose caller died never returns (and is not logged), as a killed tool.
export async function runTool(call: ToolCall, io: CallIo): Promise<number> {
  const started = Date.now();
  let ctx: ToolContext | undefined;
  let exitCode: number;
  try {
    ctx = loadContext(call.env, io);
    if (ctx.faults.latencyMs) await sleep(ctx.faults.latencyMs);
    const load = TOOLS[call.tool];
    if (!load) throw new PveDie(`linus-sim: unknown tool '${call.tool}'`, 127);
    exitCode = await survive((await load())(ctx, call.args));
  } catch (error) {
    exitCode = report(error, io.err);
  }
  if (ctx) {
    const record: CallRecord = {
      time: new Date(started).toISOString(),
      tool: call.tool,
      argv: call.args,
      exitCode,
      durationMs: Date.now() - started,
      node: ctx.node,
    };
    fs.appendFileSync(ctx.paths.callLog, `${JSON.stringify(record)}\n`);
  }
  return exitCode;
}
