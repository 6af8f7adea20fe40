import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, runCli, startCli, startTarget, type Target } from '../../helpers/driver.js';
import { waitFor } from '../../helpers/local-runner.js';

describe('linus gc', () => {
  let target: Target;
  let keptId: number;
  let leftoverId: number;

  beforeAll(async () => {
    target = await startTarget();
    const kept = await runCli(['provision', ...target.flags(), ...target.vmFlags('kept'), '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    keptId = kept.json().vm.id;
    // Kill the job of a second run with SIGKILL once its VM exists: no trap runs, the VM stays.
    target.simHost.setFaults({ agent: 'never', neighbour: false });
    const doomed = startCli(['provision', ...target.flags(), ...target.vmFlags('doomed'), '--timeout', '60', '--json']);
    await doomed.waitForStderr(/waiting for its IP address/);
    const jobsDir = path.join(target.info.remoteDir, 'jobs');
    const job = fs.readdirSync(jobsDir).find((id) => fs.readFileSync(path.join(jobsDir, id, 'state'), 'utf8').trim() === 'running');
    expect(job).toBeDefined();
    const pid = Number(fs.readFileSync(path.join(jobsDir, job as string, 'pid'), 'utf8'));
    // The driver first (so it cannot clean up), then the job: no trap runs, the VM stays.
    doomed.child.kill('SIGKILL');
    await doomed.result;
    process.kill(-pid, 'SIGKILL');
    target.simHost.clearFaults();
    leftoverId = target.simHost.listVms().find((vm) => vm.config.name === 'doomed')?.vmid ?? Number.NaN;
    expect(leftoverId).toBeGreaterThan(0);
  }, 120_000);
  afterAll(async () => target.dispose());

  it('refuses to remove anything without --yes or --dry-run when not on a terminal, and says what it would remove', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '0', '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error.message).toMatch(/--yes/);
    expect(target.simHost.vmConfig(leftoverId)).toBeDefined();
    const text = await runCli(['gc', ...target.flags(), '--older-than', '0']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`VM ${leftoverId}`);
  });

  it('without --yes and with nothing to remove, succeeds and says so', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '1h', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ cleaned: [], candidates: [] });
    expect(target.simHost.vmConfig(leftoverId)).toBeDefined();
  });

  it('--dry-run lists the dead run as a candidate and changes nothing', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '0', '--dry-run', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json();
    expect(report.candidates.map((candidate: { vmId: number }) => candidate.vmId)).toEqual([leftoverId]);
    // Found dead by gc, or already recorded as failed by the host-side `run` that was following it.
    expect(['job-died', 'failed']).toContain(report.candidates[0].reason);
    expect(report.cleaned).toEqual([]);
    expect(target.simHost.vmConfig(leftoverId)).toBeDefined();
  });

  it('--older-than keeps young leftovers', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '1h', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().cleaned).toEqual([]);
    expect(result.json().skipped).toContainEqual({ vmId: leftoverId, reason: 'young' });
    expect(target.simHost.vmConfig(leftoverId)).toBeDefined();
  });

  it('--yes removes the leftover VM with its volumes and never the finished one', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '0', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().cleaned).toEqual([leftoverId]);
    expect(target.simHost.vmConfig(leftoverId)).toBeUndefined();
    expect(target.simHost.volumes().filter((volume) => volume.vmid === leftoverId)).toEqual([]);
    expect(target.simHost.vmConfig(keptId)?.name).toBe('kept');
    expect(target.simHost.listVms().find((vm) => vm.vmid === keptId)?.running).toBe(true);
  });

  it('rejects a malformed --older-than before connecting', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', 'soon', '--dry-run', '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error.message).toMatch(/--older-than/);
  });
});

// qemu-server 9.2.6 API2/Qemu.pm create_vm: `lock: create` first (l.1374), the worker allocates the
// disks and writes the full config last (l.1478-1558). A host crash in between leaves an untagged
// VM and its volumes; the job directory's claim lets gc find them.
describe('linus gc after a host crash in the middle of qm create', () => {
  let target: Target;
  let vmid: number;

  beforeAll(async () => {
    target = await startTarget();
    target.simHost.setFaults({ createCrash: 'hang' });
    const crashed = startCli(['provision', ...target.flags(), ...target.vmFlags('crashed'), '--json']);
    // Half-way: the config holds only `lock: create` and the import's disk is allocated.
    vmid = await waitFor(() => {
      const vm = target.simHost.listVms().find((entry) => entry.config.lock === 'create');
      return vm && target.simHost.volumes().some((volume) => volume.vmid === vm.vmid && volume.volid.endsWith('-disk-0')) ? vm.vmid : undefined;
    }, 60_000);
    const jobsDir = path.join(target.info.remoteDir, 'jobs');
    const job = fs.readdirSync(jobsDir).find((id) => fs.readFileSync(path.join(jobsDir, id, 'state'), 'utf8').trim() === 'running');
    expect(job).toBeDefined();
    const pid = Number(fs.readFileSync(path.join(jobsDir, job as string, 'pid'), 'utf8'));
    // The driver, then the job with its qm create: all at once, no trap runs.
    crashed.child.kill('SIGKILL');
    await crashed.result;
    process.kill(-pid, 'SIGKILL');
    target.simHost.clearFaults();
    expect(target.simHost.vmConfig(vmid)).toEqual({ lock: 'create' });
  }, 120_000);
  afterAll(async () => target.dispose());

  it('gc --yes removes the half-created VM with its volumes and leaves no lock', async () => {
    const storage = target.info.storage;
    const result = await runCli(['gc', ...target.flags(), '--older-than', '0', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json();
    expect(report.candidates).toEqual([{ vmId: vmid, runId: expect.any(String), reason: 'unfinished-create' }]);
    expect(report.cleaned).toEqual([vmid]);
    expect(report.removedVolumes).toEqual([`${storage}:vm-${vmid}-cloudinit`, `${storage}:vm-${vmid}-disk-0`]);
    expect(leftovers(target)).toEqual({ vms: [], volumes: [], locks: [], runningJobs: [] });
  });
});
