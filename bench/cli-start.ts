// `linus --help` against a bare `node -e 0`, measured in the same run (docs/benchmarks.md): the
// CLI loads only the command it runs, so its start-up stays a small multiple of Node's own.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    times.push(performance.now() - started);
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(result.status)}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const bare = medianMs(['-e', '0']);
const help = medianMs([CLI, '--help']);
const ratio = help / bare;
process.stdout.write(`CLI start-up, median of ${RUNS}: node -e 0 ${bare.toFixed(0)} ms, linus --help ${help.toFixed(0)} ms (${ratio.toFixed(1)}x)\n`);
process.stdout.write(`${ratio < 4 ? 'met    ' : 'MISSED '} linus --help under 4x a bare node start (${ratio.toFixed(1)}x)\n`);
process.stdout.write(`${JSON.stringify({ cliStart: { runs: RUNS, nodeMs: bare, helpMs: help, ratio } })}\n\n`);
