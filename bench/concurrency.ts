// One provision, then ten at once, on one simulated host with a real host's timings
// (docs/benchmarks.md): the host's work for one VM is mostly waiting (the guest boots, its address
// appears), so ten should cost little more than one. Each is timed in several rounds on the same
// host, and the medians compared: one run's time moves by a poll interval when a guest comes up
// just after a look for its address.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandboxServices, type RunningSandbox } from '../src/sim/sandbox.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const COUNT = Number(process.env.BENCH_CONCURRENT ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// Small VMs, so that every round's fit the stock host's memory and storage.
function provision(sandbox: RunningSandbox, name: string, more: string[] = []): Promise<void> {
  const { info } = sandbox;
  const args = [
    CLI, 'provision', ...more, '--host', info.host, '--port', String(info.port), '--user', info.user, '--identity', info.identityFile,
    '--known-hosts', info.knownHostsFile, '--node', info.node, '--storage', info.storage, '--bridge', info.bridge,
    '--remote-dir', info.remoteDir, '--name', name, '--ssh-key', `${info.identityFile}.pub`,
    '--image-url', info.imageUrl, '--image-sha256', info.imageSha256, '--memory', '512', '--disk', '5', '--json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`provision ${name} exited ${String(code)}:\n${output.slice(-2000)}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const list = (values: number[]) => values.map((value) => value.toFixed(1)).join(', ');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-bench-'));
  const sandbox = await startSandboxServices(dir, {});
  try {
    // The warm-up uploads both provisioners (a --count run places its VMs with the vm one) and
    // downloads the image: the measured runs find them cached, as every run after a first does.
    await provision(sandbox, 'warm-{n}', ['--count', '2']);
    const ones: number[] = [];
    const counted: number[] = [];
    const processes: number[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      ones.push(await timed(() => provision(sandbox, `one-${round}`)));
      counted.push(await timed(() => provision(sandbox, `count${round}-{n}`, ['--count', String(COUNT)])));
      processes.push(await timed(() => Promise.all(Array.from({ length: COUNT }, (_, index) => provision(sandbox, `many${round}-${index}`)))));
    }
    const one = median(ones);
    const ratio = median(counted) / one;
    const processesRatio = median(processes) / one;
    process.stdout.write(
      `provisions on one stock simulated host, medians of ${ROUNDS} rounds: 1 in ${one.toFixed(1)} s (${list(ones)}); ${COUNT} at once as one --count ${COUNT} in ${median(counted).toFixed(1)} s (${list(counted)}): ${ratio.toFixed(2)}x; as ${COUNT} linus processes in ${median(processes).toFixed(1)} s (${list(processes)}): ${processesRatio.toFixed(2)}x\n`,
    );
    process.stdout.write(`${ratio <= 1.5 ? 'met    ' : 'MISSED '} ${COUNT} concurrent provisions (--count ${COUNT}) in at most 1.5x the time of one (${ratio.toFixed(2)}x)\n`);
    process.stdout.write(`${JSON.stringify({ concurrency: { count: COUNT, rounds: ROUNDS, oneSeconds: ones, countSeconds: counted, ratio, processesSeconds: processes, processesRatio } })}\n\n`);
  } finally {
    await sandbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
