import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../../helpers/driver.js';

// The --sandbox directory holds a private key: a Ctrl-C must never leave it behind.
describe('Ctrl-C around a --sandbox run', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sigint-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  const sandboxDirs = () => fs.readdirSync(tmp).filter((entry) => entry.startsWith('linus-sandbox-'));

  it('just after the provision finished: the teardown completes, no directory is left, the exit code is the provision\'s', async () => {
    const run = startCli(['provision', '--sandbox', '--name', 'late-interrupt'], { TMPDIR: tmp });
    // Stopped the moment the result is out, so that the Ctrl-C lands in the teardown.
    await new Promise<void>((resolve) => {
      let out = '';
      run.child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!/is ready on node/.test(out)) return;
        run.child.kill('SIGSTOP');
        resolve();
      });
    });
    expect(sandboxDirs()).toHaveLength(1);
    run.child.kill('SIGINT');
    run.child.kill('SIGCONT');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect(sandboxDirs()).toEqual([]);
  });

  it('twice during the provision: the second ends the run at once, and still removes the directory', async () => {
    const run = startCli(['provision', '--sandbox', '--name', 'impatient'], { TMPDIR: tmp });
    await run.waitForStderr(/\[3\/9\]/);
    run.child.kill('SIGINT');
    await run.waitForStderr(/cancel/i);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(130);
    expect(sandboxDirs()).toEqual([]);
  });
});
