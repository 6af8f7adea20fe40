import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onHost, runCli, startTarget, type Target } from '../../helpers/driver.js';

// Re-runs (docs/vm.md "Running a provision again"): a taken name is NAME_CONFLICT before anything
// is created; --if-exists reuse returns the VM linus made with the same settings; --count with a
// {n} pattern numbers on after the highest name taken.

describe('provision again: --if-exists and --count numbering', () => {
  let target: Target;
  let web: { id: number; ip: string; user: string };
  const vmIds = () => target.simHost.listVms().map((vm) => vm.vmid).sort((a, b) => a - b);
  const names = () => target.simHost.listVms().map((vm) => vm.config.name).sort();
  const provision = (name: string, ...extra: string[]) => runCli(['provision', ...target.flags(), ...target.vmFlags(name), '--disk', '4', ...extra]);

  beforeAll(async () => {
    target = await startTarget({ prepared: true });
    const result = await provision('web', '--json');
    expect(result.code, result.stderr).toBe(0);
    web = result.json().vm;
  }, 120_000);
  afterAll(async () => target.dispose());

  it('a taken name fails by default: NAME_CONFLICT (exit 9) naming the VM ID and node, pointing at --if-exists reuse; nothing created', async () => {
    const before = vmIds();
    const result = await provision('web', '--json');
    expect(result.code).toBe(9);
    expect(result.json().error).toMatchObject({ code: 'NAME_CONFLICT', message: `a VM named 'web' already exists: VMID ${web.id} on node pve` });
    expect(result.json().error.remediation).toContain('--if-exists reuse');
    expect(vmIds()).toEqual(before);
    const fail = await runCli(['provision', ...target.flags({ node: 'auto' }), ...target.vmFlags('web'), '--disk', '4', '--if-exists', 'fail']);
    expect(fail.code, fail.stderr).toBe(9);
    expect(fail.stderr).toContain(`a VM named 'web' already exists: VMID ${web.id} on node pve`);
    expect(fail.stderr).toContain('Nothing was created.');
    expect(vmIds()).toEqual(before);
  });

  it('--if-exists reuse returns the matching VM: exit 0, reused, its address, no second VM (JSON, text and --quiet)', async () => {
    const before = vmIds();
    const json = await provision('web', '--if-exists', 'reuse', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(json.json()).toMatchObject({ ok: true, reused: true, vm: { id: web.id, name: 'web', ip: web.ip, user: web.user, node: 'pve', cores: 2, memoryMiB: 2048, diskGiB: 4 } });
    const text = await provision('web', '--if-exists', 'reuse');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`VM ${web.id} 'web' exists with these settings (reused, --if-exists reuse) on node pve`);
    expect(text.stdout).toContain(`ssh ${web.user}@${web.ip}`);
    const quiet = await provision('web', '--if-exists', 'reuse', '--quiet');
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe(`${web.id} web ${web.ip} reused\n`);
    expect(vmIds()).toEqual(before);
  });

  it('--if-exists reuse refuses a VM made otherwise, or changed since, with the difference (exit 9); nothing changes', async () => {
    const before = vmIds();
    const result = await provision('web', '--if-exists', 'reuse', '--cores', '4', '--memory', '1024', '--json');
    expect(result.code).toBe(9);
    expect(result.json().error.code).toBe('NAME_CONFLICT');
    expect(result.json().error.message).toContain(`VM ${web.id} 'web' on node pve: it differs: cores: wanted 4, VM has 2; memory: wanted 1024 MiB, VM has 2048 MiB`);
    expect(result.json().error.remediation).toContain('linus vm delete');
    // Grown after the provision: the VM list's size counts, not the record's.
    const resize = await runCli(['vm', 'resize', 'web', '--size', '+1', ...target.flags()]);
    expect(resize.code, resize.stderr).toBe(0);
    const changed = await provision('web', '--if-exists', 'reuse');
    expect(changed.code).toBe(9);
    expect(changed.stderr).toContain('disk: wanted 4 GiB, VM has 5 GiB');
    expect(changed.stderr).toContain('Nothing was created.');
    expect(vmIds()).toEqual(before);
    expect(target.simHost.vmConfig(web.id)?.scsi0).toMatch(/size=5G/);
  });

  it('a same-named VM linus did not make is never reused: VM_NOT_OWNED (exit 18), nothing created', async () => {
    await onHost(target, 'qm create 150 --name alien --memory 2048 --cores 2');
    const before = vmIds();
    const result = await provision('alien', '--if-exists', 'reuse', '--json');
    expect(result.code).toBe(18);
    expect(result.json().error).toMatchObject({ code: 'VM_NOT_OWNED' });
    expect(result.json().error.message).toContain("VM 150 'alien' on node pve: it is not linus'");
    expect(result.json().error.remediation).toContain('another --name');
    expect(vmIds()).toEqual(before);
  });

  it('--count with {n} numbers on after the highest name taken (dev-1, dev-2 exist: dev-3, dev-4) and says so', async () => {
    const first = await provision('dev-{n}', '--count', '2', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json().vms.map((vm: { name: string }) => vm.name)).toEqual(['dev-1', 'dev-2']);
    const again = await provision('dev-{n}', '--count', '2', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ ok: true, continuedAfter: 'dev-2' });
    expect(again.json().vms.map((vm: { name: string }) => vm.name)).toEqual(['dev-3', 'dev-4']);
    // A gap is not filled: numbering goes on after the highest.
    await onHost(target, `qm stop ${again.json().vms[0].vm.id} && qm destroy ${again.json().vms[0].vm.id}`);
    const text = await provision('dev-{n}', '--count', '1');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain('linus: dev-4 is the highest name of the pattern taken: numbering goes on after it (dev-5)');
    expect(names().filter((name) => name?.startsWith('dev-'))).toEqual(['dev-1', 'dev-2', 'dev-4', 'dev-5']);
  }, 120_000);

  it('--count with --if-exists reuse makes dev-1..dev-N exist: the matching ones reused, the missing ones created', async () => {
    const before = vmIds();
    const result = await provision('dev-{n}', '--count', '3', '--if-exists', 'reuse', '--json');
    expect(result.code, result.stderr).toBe(0);
    const vms = result.json().vms as Array<{ name: string; reused?: boolean }>;
    expect(vms.map((vm) => [vm.name, vm.reused ?? false])).toEqual([['dev-1', true], ['dev-2', true], ['dev-3', false]]);
    expect(vmIds().length).toBe(before.length + 1);
    const text = await provision('dev-{n}', '--count', '3', '--if-exists', 'reuse');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain('3 of 3 VMs ready (3 reused).');
    expect(vmIds().length).toBe(before.length + 1);
  }, 120_000);
});
