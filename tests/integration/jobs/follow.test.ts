import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublicKeys } from '../../../src/config/ssh-key.js';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { runJob, type ProgressEvent } from '../../../src/jobs/run-job.js';
import { provisionerArgs } from '../../../src/provisioners/args.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { connect } from '../../../src/ssh/connection.js';
import { startRelay, startTarget, type Target } from '../../helpers/driver.js';

describe('following a job across dropped connections', () => {
  let target: Target;
  beforeAll(async () => {
    // A slow boot keeps the job running through several short waits after the drop.
    target = await startTarget({}, { bootDelayMs: 5000 });
  });
  afterAll(async () => target.dispose());

  it('resumes from the last offset: every step is shown exactly once and the VM is reported', async () => {
    const { info } = target;
    const relay = await startRelay(info.port);
    try {
      const spec = vmSpecSchema.parse({ name: 'resumed', sshKey: `${info.identityFile}.pub`, imageUrl: info.imageUrl, imageSha256: info.imageSha256 });
      const args = provisionerArgs(targetSchema.parse({ host: info.host, remoteDir: info.remoteDir }), spec, readPublicKeys(`${info.identityFile}.pub`), false);
      const events: ProgressEvent[] = [];
      let cut = false;
      const { outcome, stats } = await runJob(
        {
          connect: () => connect({ host: info.host, port: relay.port, user: info.user, identityFile: info.identityFile, knownHostsFiles: [], pins: [info.hostKeyFingerprint] }),
          provisioner: loadProvisioner('proxmox'),
          remoteDir: info.remoteDir,
          waitSeconds: 1,
          retry: { attempts: 1, baseDelayMs: 200, maxDelayMs: 400 },
          onEvent: (event) => {
            events.push(event);
            if (!cut && event.kind === 'step' && event.step.endsWith(':start')) {
              cut = true;
              relay.cut();
            }
          },
        },
        args,
      );
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      expect(stats.reconnects).toBeGreaterThan(0);
      // Several waits ran after the reconnect: the job outlived the 1 s wait.
      expect(stats.execs).toBeGreaterThan(2);
      const steps = events.filter((event) => event.kind === 'step').map((event) => (event as { step: string }).step);
      expect(steps).toEqual(['1/9:validate', '2/9:image', '3/9:claim', '4/9:create', '5/9:cloudinit', '6/9:start', '7/9:ip', '8/9:ssh', '9/9:report']);
      // Every log line and step of the job reached the driver exactly once, across the drop (the
      // records of the final block come again with the result).
      const log = fs
        .readFileSync(path.join(info.remoteDir, 'jobs', outcome.runId ?? '', 'log'), 'utf8')
        .split('\n')
        .filter((line) => line !== '' && (!line.startsWith('LINUS_') || line.startsWith('LINUS_STEP:')));
      const shown = events.flatMap((event) => (event.kind === 'log' || event.kind === 'record' ? [event.line] : []));
      for (const line of log) expect(shown.filter((seen) => seen === line || `linus: ${seen}` === line), line).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });
});
