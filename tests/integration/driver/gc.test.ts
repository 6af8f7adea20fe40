import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, startTarget, type Target } from '../../helpers/driver.js';

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

  it('refuses to remove anything without --yes or --dry-run when not on a terminal', async () => {
    const result = await runCli(['gc', ...target.flags(), '--older-than', '0', '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error.message).toMatch(/--yes/);
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
