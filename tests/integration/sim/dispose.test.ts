import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { provisionerArgs } from '../../../src/provisioners/args.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost } from '../../../src/sim/host.js';
import { processAlive } from '../../../src/sim/tools/caller.js';
import { shellQuote } from '../../../src/util/shell-quote.js';
import { fixtureDir, localRunner } from '../../helpers/local-runner.js';

const fixture = fixtureDir();
afterAll(() => fs.rmSync(fixture.dir, { recursive: true, force: true }));

describe('disposing a simulated host', () => {
  it('stops the provisioner jobs still running there, so removing its root races none', async () => {
    // A guest that takes a minute to boot keeps the job waiting for its address.
    const host = await createSimHost({ settings: { bootDelayMs: 60_000, clockScale: 0.1 } });
    try {
      const bundle = loadProvisioner('proxmox');
      const script = path.join(host.paths.remoteDir, 'provisioners', 'proxmox.sh');
      fs.mkdirSync(path.dirname(script), { recursive: true });
      fs.writeFileSync(script, bundle.content);
      const spec = vmSpecSchema.parse({ name: 'left', sshKey: fixture.pubkey });
      // A file:// image, as the host takes for test beds (the driver's schema sends only http(s)).
      const image = ['--image-url', `file://${fixture.image}`, '--image-sha256', crypto.createHash('sha256').update(fs.readFileSync(fixture.image)).digest('hex')];
      const args = provisionerArgs(targetSchema.parse({ host: 'pve', remoteDir: host.paths.remoteDir }), spec, fs.readFileSync(fixture.pubkey, 'utf8'), false);
      const started = await localRunner(host).exec(['bash', script, 'start', '--run-id', 'left-behind-1', ...args, ...image].map(shellQuote).join(' '));
      expect(started.stdout).toContain('LINUS_JOB:RUNNING');
      const pid = Number(fs.readFileSync(path.join(host.paths.remoteDir, 'jobs', 'left-behind-1', 'pid'), 'utf8'));
      expect(processAlive(pid)).toBe(true);
      await host.dispose();
      expect(processAlive(pid)).toBe(false);
    } finally {
      await host.dispose();
      fs.rmSync(host.root, { recursive: true, force: true });
    }
  });

  it('ends a command still running from its files that no pid file names (one that arrived just before the end)', async () => {
    const host = await createSimHost();
    try {
      const script = path.join(host.paths.remoteDir, 'provisioners', 'late.sh');
      fs.mkdirSync(path.dirname(script), { recursive: true });
      fs.writeFileSync(script, 'sleep 30\n');
      const late = spawn('bash', [script], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(processAlive(late.pid as number)).toBe(true);
      await host.dispose();
      await new Promise((resolve) => late.once('exit', resolve));
      expect(late.signalCode).toBe('SIGKILL');
    } finally {
      await host.dispose();
      fs.rmSync(host.root, { recursive: true, force: true });
    }
  });
});
