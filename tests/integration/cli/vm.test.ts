import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostSettingsSchema } from '../../../src/sim/settings.js';
import { onHost, runCli, settledLeftovers, startTarget, type Target } from '../../helpers/driver.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

const GiB = 1024 ** 3;

function running(target: Target, id: number): boolean | undefined {
  return target.simHost.listVms().find((vm) => vm.vmid === id)?.running;
}

async function provisionVm(target: Target, name: string): Promise<number> {
  const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(name), '--disk', '4', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return result.json().vm.id as number;
}

// A template made the way an operator would: provision, stop, qm template.
async function makeTemplate(target: Target, name: string): Promise<number> {
  const id = await provisionVm(target, name);
  await onHost(target, `qm stop ${id} && qm template ${id}`);
  return id;
}

function setNodeMemory(target: Target, bytes: number): void {
  const file = target.simHost.paths.hostJson;
  const settings = hostSettingsSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  settings.nodes = settings.nodes.map((node) => ({ ...node, memoryBytes: Math.round(bytes) }));
  fs.writeFileSync(file, JSON.stringify(settings));
}

function suite(transport: 'embedded' | 'sshd') {
  let target: Target;
  let vm: number;
  const vmCli = (...args: string[]) => runCli(['vm', ...args, ...target.flags(), '--json']);

  beforeAll(async () => {
    // Prepared (snippets on local): linus' vendor-data gives the VMs an agent, so `list` has addresses.
    target = await startTarget({ sshd: transport === 'sshd', existingVms: 1, prepared: true });
    vm = await provisionVm(target, `ops-${transport}`);
  }, 120_000);
  afterAll(async () => target.dispose());
  afterEach(() => target.simHost.clearFaults());

  it('lists every VM with node, status, size, the agent address and whether linus made it, in one exec once cached', async () => {
    await vmCli('list');
    const result = await vmCli('list');
    expect(result.code, result.stderr).toBe(0);
    const { vms, stats } = result.json();
    const guest = JSON.parse(fs.readFileSync(path.join(target.simHost.paths.guestsDir, `${vm}.json`), 'utf8'));
    expect(vms).toContainEqual(expect.objectContaining({ id: vm, name: `ops-${transport}`, node: 'pve', status: 'running', cores: 2, memoryMiB: 2048, diskGiB: 4, ip: guest.ip, linus: true, template: false }));
    expect(vms).toContainEqual(expect.objectContaining({ id: 100, name: 'existing-100', status: 'stopped', ip: null, linus: false }));
    expect(stats).toMatchObject({ execs: 1, uploads: 0 });
  });

  it('stops, starts, reboots and shuts down, waiting for the state; a VM already there is changed:false', async () => {
    const stop = await vmCli('stop', String(vm));
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json().vm).toMatchObject({ id: vm, op: 'stop', changed: true, state: 'stopped' });
    expect(running(target, vm)).toBe(false);
    expect((await vmCli('stop', String(vm))).json().vm).toMatchObject({ changed: false, state: 'stopped' });
    expect((await vmCli('shutdown', String(vm))).json().vm).toMatchObject({ changed: false, state: 'stopped' });
    const reboot = await vmCli('reboot', String(vm));
    expect(reboot.code).toBe(14);
    expect(reboot.json().error.code).toBe('VM_WRONG_STATE');

    const start = await vmCli('start', String(vm));
    expect(start.json().vm).toMatchObject({ changed: true, state: 'running' });
    expect(running(target, vm)).toBe(true);
    expect((await vmCli('start', String(vm))).json().vm).toMatchObject({ changed: false, state: 'running' });
    const rebooted = await vmCli('reboot', String(vm));
    expect(rebooted.json().vm).toMatchObject({ changed: true, state: 'running' });
    const shutdown = await vmCli('shutdown', String(vm), '--timeout', '20', '--force');
    expect(shutdown.json().vm).toMatchObject({ changed: true, state: 'stopped', forced: false });
    expect(running(target, vm)).toBe(false);
    await vmCli('start', String(vm));
  });

  it('shutdown and reboot of a guest that ignores them are STATE_TIMEOUT and leave it running; --force then stops it (and starts it for reboot)', async () => {
    target.simHost.setFaults({ shutdownIgnored: true });
    const timedOut = await vmCli('shutdown', String(vm), '--timeout', '1');
    expect(timedOut.code, timedOut.stderr).toBe(6);
    expect(timedOut.json().error).toMatchObject({ code: 'STATE_TIMEOUT', message: expect.stringContaining(`VM ${vm} did not shut down within 1 s`) });
    expect(running(target, vm)).toBe(true);
    const forced = await vmCli('shutdown', String(vm), '--timeout', '1', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().vm).toMatchObject({ changed: true, state: 'stopped', forced: true });
    expect(forced.json().warnings).toEqual([expect.stringContaining('did not shut down within 1 s: stopping it (--force)')]);
    expect(running(target, vm)).toBe(false);
    expect((await vmCli('start', String(vm))).code).toBe(0);
    const noReboot = await vmCli('reboot', String(vm), '--timeout', '1');
    expect(noReboot.code, noReboot.stderr).toBe(6);
    expect(noReboot.json().error).toMatchObject({ code: 'STATE_TIMEOUT', message: expect.stringContaining('pass --force to stop and start it') });
    const rebooted = await vmCli('reboot', String(vm), '--timeout', '1', '--force');
    expect(rebooted.code, rebooted.stderr).toBe(0);
    expect(rebooted.json().vm).toMatchObject({ op: 'reboot', changed: true, state: 'running', forced: true });
    expect(rebooted.json().warnings).toEqual([expect.stringContaining('to reboot: stopping and starting it (--force)')]);
    expect(running(target, vm)).toBe(true);
    target.simHost.clearFaults();
  });

  it('answers VM_NOT_FOUND for every operation on a VM that does not exist', async () => {
    for (const args of [['status', '999'], ['start', '999'], ['stop', '999'], ['config', '999'], ['set', '999', '--cores', '2'], ['resize', '999', '--size', '+1'], ['delete', '999', '--yes']]) {
      const result = await vmCli(...args);
      expect(result.code, args.join(' ')).toBe(12);
      expect(result.json().error).toMatchObject({ code: 'VM_NOT_FOUND', message: 'VM 999 does not exist in the cluster' });
    }
  });

  it('refuses to change a VM linus did not create with VM_NOT_OWNED unless --foreign; reading it is fine', async () => {
    const before = target.simHost.vmConfig(100);
    for (const args of [['start', '100'], ['stop', '100'], ['shutdown', '100'], ['reboot', '100'], ['set', '100', '--cores', '2'], ['resize', '100', '--size', '+1'], ['delete', '100', '--yes']]) {
      const result = await vmCli(...args);
      expect(result.code, args.join(' ')).toBe(18);
      expect(result.json().error).toMatchObject({ code: 'VM_NOT_OWNED', exitCode: 18 });
      expect(result.json().error.message).toContain("VM 100 'existing-100' was not created by linus");
    }
    expect(target.simHost.vmConfig(100)).toEqual(before);
    expect(running(target, 100)).toBe(false);
    expect((await vmCli('status', '100')).json().vm).toMatchObject({ linus: false, state: 'stopped' });
    expect((await vmCli('config', '100')).code).toBe(0);
    const forced = await vmCli('set', '100', '--description', 'adopted', '--foreign');
    expect(forced.code, forced.stderr).toBe(0);
    expect(target.simHost.vmConfig(100)?.description).toBe('adopted');
    expect(target.simHost.vmConfig(100)?.tags).toBeUndefined();
    const stopped = await vmCli('stop', '100', '--foreign');
    expect(stopped.json().vm).toMatchObject({ changed: false, state: 'stopped' });
  });

  it('refuses a locked VM with VM_LOCKED naming the lock, and touches nothing', async () => {
    await onHost(target, `qm set ${vm} --lock backup`);
    try {
      for (const args of [['stop', String(vm)], ['set', String(vm), '--cores', '3'], ['resize', String(vm), '--size', '+1'], ['delete', String(vm), '--yes', '--stop']]) {
        const result = await vmCli(...args);
        expect(result.code, args.join(' ')).toBe(13);
        expect(result.json().error.message).toContain('locked (backup)');
      }
      expect(running(target, vm)).toBe(true);
      expect(target.simHost.vmConfig(vm)?.cores).toBe('2');
    } finally {
      await onHost(target, `qm unlock ${vm}`);
    }
  });

  it('sets cores and memory pending on a running VM and the name at once; the same values again change nothing', async () => {
    const result = await vmCli('set', String(vm), '--cores', '3', '--memory', '3072', '--description', 'web: tier 1', '--tags', 'web;prod');
    expect(result.code, result.stderr).toBe(0);
    const data = result.json().vm;
    expect(data).toMatchObject({ changed: true, applied: ['description', 'tags'], pending: ['cores', 'memory'] });
    expect(result.json().warnings[0]).toMatch(/take effect at the next reboot/);
    expect(data.view.pending).toEqual({ cores: '3', memory: '3072' });
    // linus' ownership tags survive a --tags change.
    expect(target.simHost.vmConfig(vm)?.tags?.split(';')).toEqual(expect.arrayContaining(['linus', 'prod', 'web']));
    expect(target.simHost.vmConfig(vm)?.description).toBe('web: tier 1');
    const again = await vmCli('set', String(vm), '--cores', '3', '--memory', '3072');
    expect(again.json().vm).toMatchObject({ changed: false, pending: ['cores', 'memory'] });
    const config = await vmCli('config', String(vm));
    expect(config.json().vm.view.config.cores).toBe('2');
    expect(config.json().vm.view.pending.cores).toBe('3');
    const bad = await vmCli('set', String(vm), '--name', 'bad_name');
    expect(bad.code).toBe(1);
    const taken = await vmCli('set', String(vm), '--name', 'existing-100');
    expect(taken.code).toBe(9);
  });

  it('grows a disk and verifies it from the config; the same size is changed:false; shrinking and a failed resize are refused', async () => {
    const grown = await vmCli('resize', String(vm), '--size', '+2');
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.json().vm).toMatchObject({ changed: true, beforeBytes: 4 * GiB, sizeBytes: 6 * GiB });
    expect(target.simHost.vmConfig(vm)?.scsi0).toMatch(/size=6G$/);
    expect((await vmCli('resize', String(vm), '--size', '6')).json().vm).toMatchObject({ changed: false });
    const shrink = await vmCli('resize', String(vm), '--size', '5');
    expect(shrink.code).toBe(1);
    expect(shrink.json().error.message).toMatch(/shrinking/);
    target.simHost.setFaults({ resizeFail: true });
    const failed = await vmCli('resize', String(vm), '--size', '8');
    expect(failed.code).toBe(5);
    expect(failed.json().error).toMatchObject({ code: 'RESIZE_FAILED' });
    expect(failed.json().error.message).toMatch(/lvextend/);
    expect(target.simHost.vmConfig(vm)?.scsi0).toMatch(/size=6G$/);
  });

  it('clones a template, sets cloud-init, starts it and reports it like a provision', async () => {
    const template = await makeTemplate(target, `tpl-${transport}`);
    const result = await runCli(['vm', 'clone', String(template), '--name', `clone-${transport}`, ...target.flags(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { vm: clone, runId } = result.json();
    const guest = JSON.parse(fs.readFileSync(path.join(target.simHost.paths.guestsDir, `${clone.id}.json`), 'utf8'));
    expect(clone).toMatchObject({ name: `clone-${transport}`, ip: guest.ip, user: 'ubuntu', node: 'pve', cores: 2, memoryMiB: 2048, diskGiB: 4 });
    const config = target.simHost.vmConfig(clone.id);
    expect(config?.tags?.split(';')).toEqual(expect.arrayContaining(['linus', `linus-${runId}`]));
    expect(config?.template).toBeUndefined();
    expect(running(target, clone.id)).toBe(true);

    const notTemplate = await runCli(['vm', 'clone', String(clone.id), '--name', 'x1', ...target.flags(), '--json']);
    expect(notTemplate.code).toBe(14);
    const conflict = await runCli(['vm', 'clone', String(template), '--name', `clone-${transport}`, ...target.flags(), '--json']);
    expect(conflict.code).toBe(9);
    // Delete refuses the template.
    const tplDelete = await vmCli('delete', String(template), '--yes');
    expect(tplDelete.code).toBe(15);
    expect(tplDelete.json().error.code).toBe('VM_IS_TEMPLATE');
  }, 120_000);

  it('deletes only with --yes, refuses protected and running VMs, then removes the VM with its volumes', async () => {
    const noYes = await vmCli('delete', String(vm));
    expect(noYes.code).toBe(16);
    expect(noYes.json().error.code).toBe('CONFIRMATION_REQUIRED');
    const runningVm = await vmCli('delete', String(vm), '--yes');
    expect(runningVm.code).toBe(14);
    await onHost(target, `qm set ${vm} --protection 1`);
    const protectedVm = await vmCli('delete', String(vm), '--yes', '--stop');
    expect(protectedVm.code).toBe(15);
    expect(protectedVm.json().error.code).toBe('VM_PROTECTED');
    expect(target.simHost.vmConfig(vm)).toBeDefined();
    await onHost(target, `qm set ${vm} --protection 0`);
    const volumesBefore = target.simHost.volumes().filter((volume) => volume.vmid === vm).map((volume) => volume.volid);
    expect(volumesBefore.some((volid) => volid.includes('cloudinit'))).toBe(true);
    const deleted = await vmCli('delete', String(vm), '--yes', '--stop');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json().vm).toMatchObject({ changed: true, stopped: true });
    expect(deleted.json().vm.volumes.sort()).toEqual(volumesBefore.sort());
    expect(target.simHost.vmConfig(vm)).toBeUndefined();
    expect(target.simHost.volumes().filter((volume) => volume.vmid === vm)).toEqual([]);
    expect((await vmCli('delete', String(vm), '--yes')).code).toBe(12);
  });

  it('shows per node CPU, memory and storage use', async () => {
    const result = await runCli(['capacity', ...target.flags(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { nodes, storages } = result.json();
    expect(nodes).toEqual([expect.objectContaining({ node: 'pve', status: 'online', cpus: 16, memoryBytes: 64 * GiB })]);
    const lvm = storages.find((entry: { storage: string }) => entry.storage === 'local-lvm');
    const used = target.simHost.volumes().filter((volume) => volume.storage === 'local-lvm').reduce((sum, volume) => sum + volume.size, 0);
    expect(lvm).toMatchObject({ node: 'pve', totalBytes: 500 * GiB, usedBytes: used });
  });
}

describe('linus vm through the embedded SSH endpoint', () => suite('embedded'));

// The whole suite runs over the embedded endpoint; over a real sshd, one pass through each kind of
// operation (a read, a power change, a removal) shows the transport carries them the same way.
describeWithSshd('linus vm through a real OpenSSH sshd', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({ sshd: true, existingVms: 1, prepared: true });
  }, 120_000);
  afterAll(async () => target.dispose());

  it('lists, stops, starts and deletes a VM it provisioned', async () => {
    const vmCli = (...args: string[]) => runCli(['vm', ...args, ...target.flags(), '--json']);
    const vm = await provisionVm(target, 'ops-sshd');
    const list = await vmCli('list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.json().vms).toContainEqual(expect.objectContaining({ id: vm, name: 'ops-sshd', status: 'running', linus: true }));
    expect((await vmCli('stop', String(vm))).json().vm).toMatchObject({ op: 'stop', changed: true, state: 'stopped' });
    expect(running(target, vm)).toBe(false);
    expect((await vmCli('start', String(vm))).json().vm).toMatchObject({ changed: true, state: 'running' });
    expect(running(target, vm)).toBe(true);
    const deleted = await vmCli('delete', String(vm), '--yes', '--stop');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(target.simHost.vmConfig(vm)).toBeUndefined();
    expect(target.simHost.volumes().filter((volume) => volume.vmid === vm)).toEqual([]);
  }, 120_000);
});

describe('linus vm clone against the capacity thresholds', () => {
  let target: Target;
  let template: number;
  beforeAll(async () => {
    target = await startTarget();
    template = await makeTemplate(target, 'cap-tpl');
  }, 120_000);
  afterAll(async () => target.dispose());

  // Node memory in use: 2 GiB of host baseline; a clone adds its 2 GiB.
  it('warns past 80 % of the node memory and still clones', async () => {
    setNodeMemory(target, 4.8 * GiB);
    const result = await runCli(['vm', 'clone', String(template), '--name', 'cap-warn', ...target.flags(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().warnings).toEqual([expect.stringMatching(/memory of node 'pve' will be 8\d(\.\d)? % used \(over 80 %\)/)]);
    await onHost(target, `qm stop ${result.json().vm.id}`);
  }, 60_000);

  it('refuses past 90 % with CAPACITY_EXCEEDED and creates nothing; --force goes ahead', async () => {
    setNodeMemory(target, 4.2 * GiB);
    const before = await settledLeftovers(target);
    const refused = await runCli(['vm', 'clone', String(template), '--name', 'cap-refused', ...target.flags(), '--json']);
    expect(refused.code, refused.stderr).toBe(10);
    expect(refused.json().error.code).toBe('CAPACITY_EXCEEDED');
    expect(refused.json().error.message).toMatch(/memory of node 'pve' would be 9\d(\.\d)? % used/);
    expect(await settledLeftovers(target)).toEqual(before);
    const forced = await runCli(['vm', 'clone', String(template), '--name', 'cap-forced', ...target.flags(), '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(target.simHost.listVms().some((vm) => vm.config.name === 'cap-forced')).toBe(true);
  }, 60_000);
});
