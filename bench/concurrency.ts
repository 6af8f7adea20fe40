// One provision, then ten at once, on one simulated host with a real host's timings
// (docs/benchmarks.md): the host's work for one VM is mostly waiting (the guest boots, its address
// appears), so ten should cost little more than one.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandboxServices, type RunningSandbox } from '../src/sim/sandbox.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const COUNT = Number(process.env.BENCH_CONCURRENT ?? 10);

function provision(sandbox: RunningSandbox, name: string, more: string[] = []): Promise<void> {
  const { info } = sandbox;
  const args = [
    CLI, 'provision', ...more, '--host', info.host, '--port', String(info.port), '--user', info.user, '--identity', info.identityFile,
    '--known-hosts', info.knownHostsFile, '--node', info.node, '--storage', info.storage, '--bridge', info.bridge,
    '--remote-dir', info.remoteDir, '--name', name, '--ssh-key', `${info.identityFile}.pub`,
    '--image-url', info.imageUrl, '--image-sha256', info.imageSha256, '--json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`provision ${name} exited ${String(code)}:\n${stderr.slice(-2000)}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-bench-'));
  const sandbox = await startSandboxServices(dir, {});
  try {
    // The warm-up uploads both provisioners (a --count run places its VMs with the vm one) and
    // downloads the image: the measured runs find them cached, as every run after a first does.
    await provision(sandbox, 'warm-{n}', ['--count', '2']);
    const one = await timed(() => provision(sandbox, 'one'));
    const counted = await timed(() => provision(sandbox, 'count-{n}', ['--count', String(COUNT)]));
    const many = await timed(() => Promise.all(Array.from({ length: COUNT }, (_, index) => provision(sandbox, `many-${index}`))));
    const ratio = counted / one;
    const processesRatio = many / one;
    process.stdout.write(`provisions on one stock simulated host: 1 in ${one.toFixed(1)} s; ${COUNT} at once as one --count ${COUNT} in ${counted.toFixed(1)} s (${ratio.toFixed(2)}x), as ${COUNT} linus processes in ${many.toFixed(1)} s (${processesRatio.toFixed(2)}x)\n`);
    process.stdout.write(`${ratio <= 1.5 ? 'met    ' : 'MISSED '} ${COUNT} concurrent provisions (--count ${COUNT}) in at most 1.5x the time of one (${ratio.toFixed(2)}x)\n`);
    process.stdout.write(`${JSON.stringify({ concurrency: { count: COUNT, oneSeconds: one, countSeconds: counted, ratio, processesSeconds: many, processesRatio } })}\n\n`);
  } finally {
    await sandbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
