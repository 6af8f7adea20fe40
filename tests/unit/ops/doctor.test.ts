import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor } from '../../../src/ops/doctor.js';
import type { OpsDeps } from '../../../src/ops/run-op.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';

const target = { node: 'pve', storage: 'local-lvm', bridge: 'vmbr0' };
const storageCfg = (host: SimHost) => fs.readFileSync(host.paths.storageCfg, 'utf8');

// `linus doctor` as a coordinator: the checks of a stock host, and its one safe fix applied only
// after beforeFixes let it.
describe('ops: doctor', () => {
  let host: SimHost;
  let deps: OpsDeps;
  beforeAll(async () => {
    host = await createSimHost();
    deps = { ssh: localTarget(), connect: localConnect(host), remoteDir: host.paths.remoteDir, nodeAddresses: {}, provisioner: loadProvisioner('vm') };
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('reports the checks of a stock host with its safe fix, and changes nothing without fix', async () => {
    const before = storageCfg(host);
    const result = await doctor(deps, { target, fix: false }, { beforeFixes: async () => expect.unreachable(), onFixed: () => expect.unreachable() });
    expect(result.report.checks.find((check) => check.id === 'storage.snippets')).toMatchObject({ status: 'warn' });
    expect(result.report.checks.at(-1)?.id).toBe('clock');
    expect(result.report.fixes.map((fix) => fix.id)).toEqual(['storage.snippets']);
    expect(result.applied).toEqual([]);
    expect(storageCfg(host)).toBe(before);
  });

  it('applies nothing when beforeFixes refuses', async () => {
    const before = storageCfg(host);
    await expect(doctor(deps, { target, fix: true }, { beforeFixes: async () => Promise.reject(new Error('no')), onFixed: () => expect.unreachable() })).rejects.toThrow('no');
    expect(storageCfg(host)).toBe(before);
  });

  it('applies the safe fix, then checks again and finds nothing left to fix', async () => {
    const fixed: string[] = [];
    const result = await doctor(deps, { target, fix: true }, { beforeFixes: async () => undefined, onFixed: (fix, changed) => fixed.push(`${fix.id}:${changed}`) });
    expect(fixed).toEqual(['storage.snippets:true']);
    expect(result.applied.map((fix) => fix.id)).toEqual(['storage.snippets']);
    expect(result.report.fixes).toEqual([]);
    expect(storageCfg(host)).toMatch(/snippets/);
  });
});
