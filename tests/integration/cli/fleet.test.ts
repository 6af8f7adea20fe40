import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_CHANGES_EXIT_CODE } from '../../../src/protocol/codes.js';
import { leftovers, runCli, settledLeftovers, startCli, startTarget, type Target } from '../../helpers/driver.js';

// linus plan, apply and import (docs/fleets.md) against one simulated host, the fleets of the
// tests named apart so that each sees only its own VMs (a fleet's plan reads its tag and names).

let target: Target;

beforeAll(async () => {
  target = await startTarget();
}, 60_000);
afterAll(async () => target.dispose());
afterEach(() => target.simHost.clearFaults());

// A fleet file in the target's directory: the sandbox's key and image as defaults, 4 GiB disks.
function fleetFile(name: string, body: string): string {
  const { info } = target;
  const file = path.join(target.dir, `${name}.yaml`);
  const defaults = `defaults: {sshKey: ${info.identityFile}.pub, imageUrl: '${info.imageUrl}', imageSha256: ${info.imageSha256}, disk: 4, timeout: 60}\n`;
  fs.writeFileSync(file, `fleet: ${name}\n${defaults}${body}`);
  return file;
}

const cli = (args: string[]) => runCli([...args, ...target.flags()]);
const vmsNamed = (prefix: string) => target.simHost.listVms().filter((vm) => vm.config.name?.startsWith(prefix));
const tagsOf = (vm: { config: Record<string, string> }) => (vm.config.tags ?? '').split(';');

// The Proxmox calls that change something (qm create/set/resize/start/stop/destroy..., pvesh writes).
function writes(): string[] {
  return target.simHost
    .calls()
    .map((call) => [call.tool, ...call.argv].join(' '))
    .filter((line) => /^qm (?!config|status|list|guest|pending)/.test(line) || /^pvesh (create|set|delete)/.test(line) || /^pvesm (alloc|free|set|add)/.test(line));
}

describe('linus plan and apply', () => {
  it('plan on an empty cluster lists a create per VM, in one exec; --detailed-exitcode says there are changes', async () => {
    const file = fleetFile('alpha', 'vms:\n  - name: alpha-{n}\n    count: 3\n');
    const plan = await cli(['plan', '-f', file, '--json', '--detailed-exitcode']);
    expect(plan.code, plan.stderr).toBe(PLAN_CHANGES_EXIT_CODE);
    const json = plan.json();
    expect(json).toMatchObject({ ok: true, fleet: 'alpha', summary: { create: 3, update: 0, replace: 0, delete: 0, unchanged: 0, conflict: 0 }, notInFile: [] });
    expect(json.changes.map((change: { action: string; name: string }) => [change.action, change.name])).toEqual([['create', 'alpha-1'], ['create', 'alpha-2'], ['create', 'alpha-3']]);
    const text = await cli(['plan', '-f', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Fleet alpha \(tag linus-fleet-alpha\): 3 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged\n/);
    expect(text.stdout).toMatch(/\+ alpha-1 +create +on node pve: 2 cores, 2048 MiB, 4 GiB, ubuntu/);
    // One exec once the vm script is on the host.
    expect((await cli(['plan', '-f', file, '--json'])).json().stats).toMatchObject({ execs: 1, uploads: 0 });
  });

  it('apply creates them at once; one failure is rolled back and reported while the others are made', async () => {
    const file = fleetFile('alpha', 'vms:\n  - name: alpha-{n}\n    count: 3\n    tags: [web]\n    description: Front end\n');
    target.simHost.setFaults({ startFailNames: ['alpha-2'] });
    const applied = await cli(['apply', '-f', file, '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(5);
    const json = applied.json();
    expect(json).toMatchObject({ ok: false, fleet: 'alpha', error: { code: 'START_FAILED' } });
    const byName = Object.fromEntries(json.vms.map((vm: { name: string }) => [vm.name, vm]));
    expect(byName['alpha-2']).toMatchObject({ ok: false, action: 'create', error: { code: 'START_FAILED' } });
    for (const name of ['alpha-1', 'alpha-3']) expect(byName[name]).toMatchObject({ ok: true, action: 'create', vm: { name, node: 'pve' } });
    const made = vmsNamed('alpha-');
    expect(made.map((vm) => vm.config.name).sort()).toEqual(['alpha-1', 'alpha-3']);
    for (const vm of made) {
      expect(tagsOf(vm)).toEqual(expect.arrayContaining(['linus', 'linus-fleet-alpha', 'web']));
      expect(target.simHost.vmConfig(vm.vmid)?.description).toMatch(/^linus \S+ run=\S+ os=ubuntu-24.04 .*\nFront end$/);
    }
    // The jobs ran at once: each VM's qm create came before any VM's qm start.
    const calls = target.simHost.calls().filter((call) => call.tool === 'qm').map((call) => call.argv[0]);
    expect(calls.filter((verb) => verb === 'create')).toHaveLength(3);
    expect(calls.lastIndexOf('create')).toBeLessThan(calls.indexOf('start'));
    // The failed VM was rolled back: nothing of it is left.
    expect(byName['alpha-2'].vmId).toEqual(expect.any(Number));
    expect(target.simHost.volumes().filter((volume) => volume.vmid === byName['alpha-2'].vmId && !made.some((vm) => vm.vmid === volume.vmid))).toEqual([]);
    expect(leftovers(target).locks).toEqual([]);
  }, 120_000);

  it('plan again shows the failed VM to create and the others unchanged; once made, applying again writes nothing', async () => {
    const file = fleetFile('alpha', 'vms:\n  - name: alpha-{n}\n    count: 3\n    tags: [web]\n    description: Front end\n');
    const plan = await cli(['plan', '-f', file, '--json']);
    expect(plan.json().changes.map((change: { action: string; name: string }) => [change.name, change.action])).toEqual([['alpha-1', 'unchanged'], ['alpha-2', 'create'], ['alpha-3', 'unchanged']]);
    const applied = await cli(['apply', '-f', file, '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/created +alpha-2 \(VM \d+\): ubuntu@[\d.]+ on pve/);
    target.simHost.clearCalls();
    const configs = JSON.stringify(vmsNamed('alpha-').map((vm) => target.simHost.vmConfig(vm.vmid)));
    const again = await cli(['apply', '-f', file, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 to create, 0 to update, 0 to replace, 0 to delete, 3 unchanged\n/);
    expect(again.stdout).toMatch(/No changes: the cluster matches the file\.\n$/);
    expect(writes()).toEqual([]);
    expect(JSON.stringify(vmsNamed('alpha-').map((vm) => target.simHost.vmConfig(vm.vmid)))).toBe(configs);
    const detailed = await cli(['plan', '-f', file, '--detailed-exitcode']);
    expect(detailed.code).toBe(0);
  }, 120_000);
});

describe('linus apply: updates, deletes and conflicts', () => {
  const alpha = (entries: string) => fleetFile('alpha', `vms:\n${entries}`);

  it('a changed cores is an update (pending on a running VM until --reboot); a bigger disk, tags and the note change in place', async () => {
    const file = alpha('  - {name: alpha-1, cores: 3, tags: [web], description: Front end}\n  - {name: alpha-2, tags: [web], description: Front end}\n  - {name: alpha-3, disk: 6, tags: [web, edge], description: Edge}\n');
    const plan = (await cli(['plan', '-f', file, '--json'])).json();
    const byName = Object.fromEntries(plan.changes.map((change: { name: string }) => [change.name, change]));
    expect(byName['alpha-1']).toMatchObject({ action: 'update', fields: { cores: [2, 3] } });
    expect(byName['alpha-2']).toMatchObject({ action: 'unchanged', fields: {} });
    expect(byName['alpha-3']).toMatchObject({ action: 'update', fields: { disk: [4, 6], tags: [['web'], ['edge', 'web']], description: ['Front end', 'Edge'] } });
    const applied = await cli(['apply', '-f', file, '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const vms = Object.fromEntries(applied.json().vms.map((vm: { name: string }) => [vm.name, vm]));
    expect(vms['alpha-1']).toMatchObject({ ok: true, action: 'update', pending: ['cores'] });
    expect(vms['alpha-3']).toMatchObject({ ok: true, action: 'update' });
    const three = vmsNamed('alpha-3')[0] as { vmid: number; config: Record<string, string> };
    expect(three.config.scsi0).toMatch(/,size=6G$/);
    expect(tagsOf(three)).toEqual(expect.arrayContaining(['edge', 'web', 'linus-fleet-alpha']));
    expect(target.simHost.vmConfig(three.vmid)?.description).toMatch(/^linus \S+ run=.*\nEdge$/);
    // Waiting for the reboot is no change: the plan says so and has nothing to do.
    const again = await cli(['plan', '-f', file, '--json', '--detailed-exitcode']);
    expect(again.code).toBe(0);
    expect(again.json().changes[0]).toMatchObject({ name: 'alpha-1', action: 'unchanged', pending: ['cores'] });
    const rebooted = await cli(['apply', '-f', file, '--yes', '--reboot', '--json']);
    expect(rebooted.code, rebooted.stderr).toBe(0);
    expect(rebooted.json().vms[0]).toMatchObject({ name: 'alpha-1', rebooted: true });
    expect((await cli(['plan', '-f', file, '--json'])).json().changes[0]).toEqual(expect.not.objectContaining({ pending: expect.anything() }));
  }, 120_000);

  it('a VM the file no longer lists is deleted only with --prune, and prune touches only the fleet\'s VMs', async () => {
    target.simHost.clearCalls();
    const file = alpha('  - {name: alpha-1, cores: 3, tags: [web], description: Front end}\n  - {name: alpha-2, tags: [web], description: Front end}\n');
    const shell = (command: string) => execFileSync(target.simHost.hostShell(), ['-c', command]);
    shell('qm create 190 --name alpha-9 --memory 512 && qm create 191 --name alpha-8 --memory 512 --tags "linus;linus-fleet-beta"');
    const plan = await cli(['plan', '-f', file, '--json', '--detailed-exitcode']);
    expect(plan.code).toBe(0);
    expect(plan.json()).toMatchObject({ summary: { delete: 0, unchanged: 2 }, notInFile: [{ name: 'alpha-3' }] });
    expect((await cli(['plan', '-f', file])).stdout).toMatch(/1 VM\(s\) carry the tag linus-fleet-alpha but are not in the file: alpha-3 \(VM \d+\); 'linus apply --prune' deletes them\./);
    expect((await cli(['apply', '-f', file, '--yes'])).stdout).toMatch(/No changes/);
    expect(vmsNamed('alpha-3')).toHaveLength(1);
    const pruned = await cli(['plan', '-f', file, '--prune', '--json']);
    expect(pruned.json().changes.filter((change: { action: string }) => change.action === 'delete').map((change: { name: string }) => change.name)).toEqual(['alpha-3']);
    const applied = await cli(['apply', '-f', file, '--prune', '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.json().vms.find((vm: { name: string }) => vm.name === 'alpha-3')).toMatchObject({ ok: true, action: 'delete' });
    expect(vmsNamed('alpha-').map((vm) => vm.config.name).sort()).toEqual(['alpha-1', 'alpha-2', 'alpha-8', 'alpha-9']);
    expect(writes().filter((line) => /^qm (destroy|stop)/.test(line)).every((line) => !/ 19[01]( |$)/.test(line))).toBe(true);
  }, 120_000);

  it('what cannot change in place is a replace, done only with --allow-replace: the old VM goes, a new one is made', async () => {
    const file = alpha('  - {name: alpha-1, cores: 3, tags: [web], description: Front end}\n  - {name: alpha-2, os: debian, tags: [web], description: Front end}\n');
    const before = vmsNamed('alpha-2')[0] as { vmid: number };
    const plan = (await cli(['plan', '-f', file, '--json'])).json();
    expect(plan.changes[1]).toMatchObject({ action: 'replace', name: 'alpha-2', vmId: before.vmid, fields: { os: ['ubuntu-24.04', 'debian-12'] }, replaceFor: ['os'] });
    target.simHost.clearCalls();
    const refused = await cli(['apply', '-f', file, '--yes']);
    expect(refused.code).toBe(16);
    expect(refused.stderr).toMatch(/replacing destroys a VM and its disk and creates it anew: alpha-2 \(os\)/);
    expect(writes()).toEqual([]);
    const applied = await cli(['apply', '-f', file, '--yes', '--allow-replace', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.json().vms[1]).toMatchObject({ name: 'alpha-2', action: 'replace', ok: true, replacedVmId: before.vmid, vm: { os: 'debian-12' } });
    const after = vmsNamed('alpha-2');
    expect(after).toHaveLength(1);
    expect(target.simHost.vmConfig((after[0] as { vmid: number }).vmid)?.description).toMatch(/ os=debian-12 /);
    expect(writes().filter((line) => line.startsWith(`qm destroy ${before.vmid} `))).toHaveLength(1);
    expect((await cli(['plan', '-f', file, '--json', '--detailed-exitcode'])).code).toBe(0);
  }, 120_000);

  it('a same-named VM without the fleet tag is a conflict: plan shows it, apply refuses before any write', async () => {
    execFileSync(target.simHost.hostShell(), ['-c', 'qm create 195 --name gamma-1 --memory 1024 --cores 2 --scsi0 local-lvm:4 --net0 virtio,bridge=vmbr0 --tags prod']);
    const file = fleetFile('gamma', 'vms:\n  - name: gamma-{n}\n    count: 2\n');
    const plan = await cli(['plan', '-f', file, '--json']);
    expect(plan.code).toBe(9);
    expect(plan.json()).toMatchObject({ ok: false, error: { code: 'NAME_CONFLICT' }, summary: { conflict: 1, create: 1 } });
    expect(plan.json().changes[0]).toMatchObject({ action: 'conflict', name: 'gamma-1', vmId: 195, reason: expect.stringMatching(/does not carry the tag linus-fleet-gamma: 'linus import --fleet gamma 195' adopts it/) });
    target.simHost.clearCalls();
    const applied = await cli(['apply', '-f', file, '--yes']);
    expect(applied.code).toBe(9);
    expect(applied.stderr).toMatch(/NAME_CONFLICT/);
    expect(writes()).toEqual([]);
    expect(vmsNamed('gamma-').map((vm) => vm.vmid)).toEqual([195]);
  });
});

describe('linus import', () => {
  it('adopts a foreign VM and a linus-made one; the file it writes plans as no change; gc never removes them', async () => {
    const provisioned = await runCli(['provision', ...target.flags(), ...target.vmFlags('delta-1'), '--disk', '4', '--json']);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    const file = path.join(target.dir, 'imported.yaml');
    const imported = await cli(['import', '--fleet', 'gamma', 'gamma-1', 'delta-1', '-f', file, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ ok: true, fleet: 'gamma', file, vms: [{ name: 'gamma-1', vmId: 195, changed: true }, { name: 'delta-1', changed: true }] });
    const yaml = fs.readFileSync(file, 'utf8');
    expect(yaml).toMatch(/^fleet: gamma$/m);
    expect(yaml).toMatch(/- name: delta-1\n\s+os: ubuntu-24.04/);
    for (const vm of [...vmsNamed('gamma-1'), ...vmsNamed('delta-1')]) expect(tagsOf(vm)).toEqual(expect.arrayContaining(['linus', 'linus-fleet-gamma']));
    expect(tagsOf(vmsNamed('gamma-1')[0] as { config: Record<string, string> })).toContain('prod');
    const plan = await cli(['plan', '-f', file, '--json', '--detailed-exitcode']);
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.json().changes.map((change: { action: string }) => change.action)).toEqual(['unchanged', 'unchanged']);
    const gc = await cli(['gc', '--older-than', '0s', '--yes', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    expect([...vmsNamed('gamma-1'), ...vmsNamed('delta-1')]).toHaveLength(2);
    // A VM to create needs a key the imported file does not name: refused before anything is written.
    fs.appendFileSync(file, '  - name: gamma-3\n');
    const more = await cli(['plan', '-f', file, '--json']);
    expect(more.code).toBe(25);
    expect(more.json()).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', message: expect.stringMatching(/gamma-3 cannot be created: .*gamma-3: sshKey: is required/) } });
    target.simHost.clearCalls();
    expect((await cli(['apply', '-f', file, '--yes'])).code).toBe(25);
    expect(writes()).toEqual([]);
  }, 120_000);
});

describe('Ctrl-C during linus apply', () => {
  it('starts nothing new and rolls back the VM being made', async () => {
    const file = fleetFile('eps', 'vms:\n  - name: eps-{n}\n    count: 3\n');
    target.simHost.setFaults({ agent: { delayMs: 3000 } });
    const run = startCli(['apply', '-f', file, '--yes', '--parallel', '1', ...target.flags()]);
    await run.waitForStderr(/\[eps-1\] job \S+ started/);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/interrupted: no new work starts/);
    expect(result.stdout).toMatch(/failed +eps-1( \(VM \d+\))?: cancelled on request/);
    expect(result.stdout).toMatch(/failed +eps-2: not started, the apply was interrupted\nfailed +eps-3: not started, the apply was interrupted/);
    expect(vmsNamed('eps-')).toEqual([]);
    expect(await settledLeftovers(target)).toMatchObject({ locks: [], runningJobs: [] });
  }, 120_000);
});
