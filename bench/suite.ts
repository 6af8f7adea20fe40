// The whole test suite's wall time against its target (docs/benchmarks.md). It runs every test
// (about 5 minutes): `npm run bench` runs it last, `npm run bench:suite` alone.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET_SECONDS = 360;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started = performance.now();
const result = spawnSync('bash', ['tests/run-all.sh'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CI: process.env.CI ?? 'true' } });
const seconds = (performance.now() - started) / 1000;
const passed = result.status === 0;
process.stdout.write(`test suite (vitest and bats at once) on ${os.cpus().length} cores: ${seconds.toFixed(0)} s, ${passed ? 'all passed' : `FAILED (exit ${String(result.status)})`}\n`);
process.stdout.write(`${seconds < TARGET_SECONDS ? 'met    ' : 'MISSED '} the full suite under ${TARGET_SECONDS / 60} minutes (${(seconds / 60).toFixed(1)} min)\n`);
process.stdout.write(`${JSON.stringify({ suite: { cores: os.cpus().length, seconds, passed } })}\n`);
process.exitCode = passed ? 0 : 1;
