// What one simulated Proxmox tool call costs as the provisioner pays it: the shell starting the
// tool, the call, and the shell seeing its exit (docs/benchmarks.md). Target: a median of 20 ms.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createSimHost, makeSimRoot } from '../src/sim/host.js';

const CALLS = Number(process.env.BENCH_TOOL_CALLS ?? 50);
const TARGET_MS = 20;

// Milliseconds of each of CALLS runs of <command>, timed by one shell on the host around each run.
function timeCalls(hostShell: string, command: string): number[] {
  const script = `for ((i = 0; i < ${CALLS}; i++)); do s=$EPOCHREALTIME; ${command} >/dev/null || exit 1; e=$EPOCHREALTIME; echo "$s $e"; done`;
  return execFileSync(hostShell, ['-c', script], { encoding: 'utf8', env: { ...process.env, BENCH_NODE: process.execPath } })
    .trim()
    .split('\n')
    .map((line) => {
      const [start, end] = line.split(' ').map(Number);
      return ((end as number) - (start as number)) * 1000;
    });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const host = await createSimHost({ root: makeSimRoot('linus-bench-tools-') });
try {
  // The first call starts the host's tool server; it is not what a call costs.
  execFileSync(host.hostShell(), ['-c', 'qm create 100 --scsi0 local-lvm:1 >/dev/null']);
  const time = (command: string) => {
    const ms = timeCalls(host.hostShell(), command);
    return { command, calls: ms.length, medianMs: percentile(ms, 50), p90Ms: percentile(ms, 90) };
  };
  const rows = ['pveversion', 'qm status 100'].map(time);
  // What a call cost at least when every call was a Node process of its own (about 170 ms with
  // the tool modules loaded).
  const bareNode = time('"$BENCH_NODE" -e 0');
  for (const row of rows) process.stdout.write(`simulated tool call \`${row.command}\`: median ${row.medianMs.toFixed(1)} ms, p90 ${row.p90Ms.toFixed(1)} ms (${row.calls} calls)\n`);
  process.stdout.write(`a bare Node start-up, the floor of a call run as its own Node process: median ${bareNode.medianMs.toFixed(1)} ms\n`);
  const worst = Math.max(...rows.map((row) => row.medianMs));
  process.stdout.write(`${worst <= TARGET_MS ? 'met    ' : 'MISSED '} a simulated tool call's median at most ${TARGET_MS} ms (${worst.toFixed(1)} ms)\n`);
  process.stdout.write(`\n${JSON.stringify({ toolCalls: rows, bareNodeMs: bareNode.medianMs })}\n`);
} finally {
  await host.dispose();
  fs.rmSync(host.root, { recursive: true, force: true });
}
