import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCloneSpec } from '../../../src/config/clone-spec.js';
import { cloneVm } from '../../../src/jobs/clone.js';
import type { ProgressEvent } from '../../../src/jobs/run-job.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';
import { localRunner } from '../../helpers/local-runner.js';

// A clone runs as a job like a provision: claimed, created, started, and rolled back when the
// guest never answers. (A clone that comes up is tested through the CLI in tests/integration/cli/vm.test.ts.)
describe('jobs: clone', () => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost({ existingVms: 1 });
    const made = await localRunner(host).exec('qm set 100 --ide2 local-lvm:cloudinit --ipconfig0 ip=dhcp >/dev/null && qm template 100');
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('rolls back a clone whose guest never gets an address: only the template is left', async () => {
    const events: ProgressEvent[] = [];
    const spec = parseCloneSpec(100, { name: 'blank-clone', vmUser: 'ubuntu', timeout: 2 });
    const { outcome, stats } = await cloneVm(
      { ssh: localTarget(), connect: localConnect(host), provisioner: loadProvisioner('vm'), remoteDir: host.paths.remoteDir, nodeAddresses: {}, onEvent: (event) => events.push(event) },
      spec,
      undefined,
    );
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: false, kind: 'failure', error: { code: 'IP_TIMEOUT' } });
    expect(outcome.ok ? undefined : outcome.vmId).toBe(101);
    expect(events.filter((event) => event.kind === 'vmId')).toEqual([{ kind: 'vmId', vmId: 101 }]);
    expect(stats.attempts).toBe(1);
    expect(host.listVms().map((vm) => vm.vmid)).toEqual([100]);
    expect(host.locks()).toEqual([]);
  });
});
