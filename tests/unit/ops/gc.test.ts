import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc, type GcReport } from '../../../src/ops/gc.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';

// `linus gc` as a coordinator: the review before removal, and what the host reports. (Leftovers of
// real runs are removed through the CLI in tests/integration/cli/gc.test.ts.)
describe('ops: gc', () => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost({ existingVms: 1 });
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  const deps = () => ({ ssh: localTarget(), connect: localConnect(host), remoteDir: host.paths.remoteDir, provisioner: loadProvisioner('proxmox') });

  it('shows the preview, and with nothing to remove asks nothing and removes nothing', async () => {
    const shown: GcReport[] = [];
    const report = await gc(deps(), { olderThanSeconds: 0, dryRun: false, yes: false }, { show: (preview) => shown.push(preview), confirm: async () => expect.unreachable() });
    expect(shown).toMatchObject([{ dryRun: true, candidates: [] }]);
    expect(report).toMatchObject({ ok: true, dryRun: true, candidates: [], cleaned: [] });
    // A VM linus did not make is never a candidate.
    expect(host.listVms().map((vm) => vm.vmid)).toEqual([100]);
  });

  it('with --yes runs once, without a preview', async () => {
    const report = await gc(deps(), { olderThanSeconds: 0, dryRun: false, yes: true }, { show: () => expect.unreachable(), confirm: async () => expect.unreachable() });
    expect(report).toMatchObject({ ok: true, dryRun: false, cleaned: [] });
    expect(host.listVms().map((vm) => vm.vmid)).toEqual([100]);
  });
});
