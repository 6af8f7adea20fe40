import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacity } from '../../../src/ops/capacity.js';
import type { OpsDeps } from '../../../src/ops/run-op.js';
import { deleteVm, listVms, powerVm, resizeVm, setVm, vmChanges, vmConfig, vmStatus } from '../../../src/ops/vm.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';

// The lifecycle operations against the simulated host through an in-process connection: what
// each leaves on the host, what it returns, and what the host refuses.
describe('ops: linus vm operations', () => {
  let host: SimHost;
  let deps: OpsDeps;
  beforeAll(async () => {
    host = await createSimHost({ existingVms: 2 });
    deps = { ssh: localTarget(), connect: localConnect(host), remoteDir: host.paths.remoteDir, nodeAddresses: {}, provisioner: loadProvisioner('vm') };
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('uploads the vm provisioner once, then lists from the cache in one exec', async () => {
    const first = await listVms(deps);
    expect(first.stats).toMatchObject({ uploads: 1 });
    const second = await listVms(deps);
    expect(second.stats).toEqual({ execs: 1, uploads: 0, via: '' });
    expect(second.ok && second.data.map((vm) => [vm.id, vm.status, vm.linus])).toEqual([
      [100, 'stopped', false],
      [101, 'stopped', false],
    ]);
  });

  it('refuses to change a VM linus did not create, and changes nothing', async () => {
    const result = await powerVm(deps, 'start', 100, {});
    expect(result).toMatchObject({ ok: false, error: { code: 'VM_NOT_OWNED' } });
    expect(host.listVms().find((vm) => vm.vmid === 100)?.running).toBe(false);
  });

  it('starts, reconfigures and grows a VM with --foreign, each read back from the host', async () => {
    const started = await powerVm(deps, 'start', 100, { foreign: true, timeout: 30 });
    expect(started).toMatchObject({ ok: true, data: { id: 100, op: 'start', changed: true, state: 'running' } });
    expect(host.listVms().find((vm) => vm.vmid === 100)?.running).toBe(true);

    const set = await setVm(deps, 101, vmChanges({ cores: 3, description: 'web tier' }), { foreign: true });
    expect(set.ok && set.data.changed).toBe(true);
    expect(host.vmConfig(101)).toMatchObject({ cores: '3', description: 'web tier' });
    const config = await vmConfig(deps, 101);
    expect(config.ok && config.data.view.config.cores).toBe('3');

    const grown = await resizeVm(deps, 101, '+1', { foreign: true });
    expect(grown).toMatchObject({ ok: true, data: { disk: 'scsi0', changed: true } });
    expect(grown.ok && grown.data.sizeBytes - grown.data.beforeBytes).toBe(1024 ** 3);
  });

  it('deletes only after the confirmation, and only the VM confirmed', async () => {
    const asked: string[] = [];
    await expect(deleteVm(deps, 101, { foreign: true, confirm: async (vm) => (asked.push(vm.name), false) })).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(host.vmConfig(101)).toBeDefined();
    const deleted = await deleteVm(deps, 101, { foreign: true, confirm: async (vm) => (asked.push(vm.name), true) });
    expect(deleted).toMatchObject({ ok: true, data: { id: 101, op: 'delete' } });
    expect(asked).toEqual(['existing-101', 'existing-101']);
    expect(host.vmConfig(101)).toBeUndefined();
    expect(host.volumes().map((volume) => volume.volid)).not.toContain('local-lvm:vm-101-disk-0');
  });

  it('reports a VM that is not there as the host says', async () => {
    expect(await vmStatus(deps, 999)).toMatchObject({ ok: false, error: { code: 'VM_NOT_FOUND' } });
  });

  it('reads capacity per node and storage', async () => {
    const result = await capacity(deps);
    expect(result.ok && result.data.filter((row) => row.kind === 'node').map((row) => row.node)).toEqual(['pve']);
    expect(result.ok && result.data.some((row) => row.kind === 'storage' && row.storage === 'local-lvm')).toBe(true);
  });
});
