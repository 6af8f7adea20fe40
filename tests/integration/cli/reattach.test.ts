import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, settledLeftovers, startCli, startTarget, type Target } from '../../helpers/driver.js';

// `linus wait`, `linus logs` and `linus runs`: a host job picked up from another terminal.

// Every job log on the simulated host, read directly (test set-up only).
function jobLogs(target: Target): string {
  const jobs = path.join(target.info.remoteDir, 'jobs');
  if (!fs.existsSync(jobs)) return '';
  return fs.readdirSync(jobs).map((id) => fs.readFileSync(path.join(jobs, id, 'log'), 'utf8')).join('');
}

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition never held');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('reattach to host jobs', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());
  afterEach(() => target.simHost.clearFaults());

  // The provision's own linus dies (SIGKILL: no cancel reaches the host); the job goes on there.
  async function orphanedRun(name: string): Promise<{ runId: string; state: string }> {
    const run = startCli(['provision', ...target.flags(), ...target.vmFlags(name)]);
    await run.waitForStderr(/VM ID \d+ claimed/);
    run.child.kill('SIGKILL');
    await run.result;
    const runs = await runCli(['runs', ...target.flags(), '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    const mine = (runs.json().runs as Array<{ runId: string; name: string; state: string }>).find((entry) => entry.name === name);
    expect(mine).toBeDefined();
    return { runId: mine?.runId ?? '', state: mine?.state ?? '' };
  }

  it('runs lists the job, wait follows it to the end and prints the result as provision does, logs shows its log', async () => {
    const { runId } = await orphanedRun('orphan');
    const waited = await runCli(['wait', runId, ...target.flags(), '--json']);
    expect(waited.code, waited.stderr).toBe(0);
    const { vm } = waited.json();
    expect(waited.json()).toMatchObject({ ok: true, runId, vm: { name: 'orphan', user: 'ubuntu' } });
    expect(target.simHost.vmConfig(vm.id)?.name).toBe('orphan');

    const text = await runCli(['wait', runId, ...target.flags()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`VM ${vm.id} 'orphan' is ready on node pve`);
    expect(text.stdout).toContain(`ssh ubuntu@${vm.ip}`);

    const runs = await runCli(['runs', ...target.flags(), '--json']);
    expect(runs.json().runs[0]).toMatchObject({ runId, state: 'finished', result: 'SUCCESS', vmId: vm.id, name: 'orphan', ip: vm.ip, user: 'ubuntu' });
    const table = await runCli(['runs', ...target.flags()]);
    expect(table.stdout).toMatch(new RegExp(`^${runId}\\s+finished SUCCESS\\s+${vm.id}\\s+orphan\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 'm'));

    const logs = await runCli(['logs', runId, ...target.flags()]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('linus: call: qm create');
    expect(logs.stdout).not.toMatch(/^LINUS_/m);
    const all = await runCli(['logs', runId, '-v', ...target.flags()]);
    expect(all.stdout).toMatch(/^LINUS_STEP:1\/9:validate$/m);
    expect(all.stdout).toMatch(/^LINUS_RESULT:SUCCESS$/m);
  });

  it('logs --follow keeps following a running job until it ends', async () => {
    // No address (a stock host: no agent) until the test lets the guest into the node's neighbour
    // table: the job still waits for it when logs starts following, however slow the machine.
    target.simHost.setFaults({ neighbour: false });
    const { runId, state } = await orphanedRun('followed');
    expect(state).toBe('running');
    const follow = startCli(['logs', runId, '--follow', ...target.flags()]);
    await new Promise<void>((resolve) => {
      let out = '';
      follow.child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('linus: call: qm start')) resolve();
      });
    });
    target.simHost.clearFaults();
    const logs = await follow.result;
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('linus: call: qm start');
    expect(logs.stdout).toMatch(/^linus: SSH answers on [0-9.]+:22$/m);
    const once = await runCli(['logs', runId, ...target.flags()]);
    expect(once.stdout).toBe(logs.stdout);
    const runs = await runCli(['runs', ...target.flags(), '--json']);
    expect(runs.json().runs.find((entry: { runId: string }) => entry.runId === runId)).toMatchObject({ state: 'finished', result: 'SUCCESS' });
  });

  it('wait on a job that failed exits with its code and says it was rolled back', async () => {
    target.simHost.setFaults({ startFail: true });
    const provision = await runCli(['provision', ...target.flags(), ...target.vmFlags('failing'), '--json']);
    expect(provision.code).toBe(5);
    const { runId } = provision.json();
    const waited = await runCli(['wait', runId, ...target.flags()]);
    expect(waited.code).toBe(5);
    expect(waited.stderr).toMatch(/Provision failed \(VM \d+ was rolled back\): .*START_FAILED|Provision failed \(VM \d+ was rolled back\)/);
    const json = await runCli(['wait', runId, ...target.flags(), '--json']);
    expect(json.json()).toMatchObject({ ok: false, runId, error: { code: 'START_FAILED', exitCode: 5 } });
  });

  it('--keep-on-failure keeps the VM of an injected start failure, says how to remove it, and gc still knows it', async () => {
    target.simHost.setFaults({ startFail: true });
    const text = await runCli(['provision', ...target.flags(), ...target.vmFlags('kept'), '--keep-on-failure']);
    expect(text.code).toBe(5);
    const id = Number(/VM (\d+) was kept for inspection/.exec(text.stderr)?.[1]);
    expect(text.stderr).toContain(`Remove it with: linus vm delete ${id} --yes --stop`);
    expect(target.simHost.vmConfig(id)?.name).toBe('kept');
    expect(target.simHost.vmConfig(id)?.tags).toMatch(/linus-r[a-z0-9]+-[0-9a-f]{8}/);
    const gc = await runCli(['gc', '--dry-run', '--older-than', '0', ...target.flags(), '--json']);
    expect(gc.json().candidates).toEqual(expect.arrayContaining([expect.objectContaining({ vmId: id, reason: 'failed' })]));
    target.simHost.clearFaults();
    const deleted = await runCli(['vm', 'delete', 'kept', '--yes', '--stop', ...target.flags()]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(target.simHost.vmConfig(id)).toBeUndefined();

    target.simHost.setFaults({ startFail: true });
    const json = await runCli(['provision', ...target.flags(), ...target.vmFlags('kept-json'), '--keep-on-failure', '--json']);
    expect(json.code).toBe(5);
    expect(json.json()).toMatchObject({ ok: false, kept: true, error: { code: 'START_FAILED' }, stats: { attempts: 1 } });
    expect(target.simHost.vmConfig(json.json().vmId)?.name).toBe('kept-json');
  });

  it('an unknown run id is JOB_NOT_FOUND (exit 11) for wait and logs; a malformed one is refused before connecting', async () => {
    const waited = await runCli(['wait', 'rnosuch-0000', ...target.flags(), '--json']);
    expect(waited.code).toBe(11);
    expect(waited.json().error.code).toBe('JOB_NOT_FOUND');
    const logs = await runCli(['logs', 'rnosuch-0000', ...target.flags()]);
    expect(logs.code).toBe(11);
    expect(logs.stdout).toBe('');
    expect(logs.stderr).toContain('no job rnosuch-0000 under');
    const bad = await runCli(['wait', 'x;rm', ...target.flags(), '--json']);
    expect(bad.code).toBe(1);
    expect(bad.json().error.message).toContain('is not a run id');
  });

  it('a provision whose second Ctrl-C stops waiting prints linus wait <run-id>', async () => {
    // qm create held in flight: the rollback waits for it, long enough to stop waiting.
    target.simHost.setFaults({ createCrash: 'hang' });
    const run = startCli(['provision', ...target.flags(), ...target.vmFlags('impatient')]);
    await run.waitForStderr(/claiming a VM ID/);
    run.child.kill('SIGINT');
    await run.waitForStderr(/cancelling/);
    // Once the job got the cancel (it rolls back, waiting for the create in flight).
    await waitFor(() => jobLogs(target).includes('rollback: waiting for the Proxmox call in flight to finish'));
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    const runId = /linus wait (\S+) \(same target flags\)/.exec(result.stderr)?.[1];
    expect(runId, result.stderr).toMatch(/^r[a-z0-9]+-[0-9a-f]{8}$/);
    target.simHost.clearFaults();
    const waited = await runCli(['wait', runId ?? '', ...target.flags(), '--json']);
    expect(waited.json().error?.code, waited.stdout + waited.stderr).toBe('CANCELLED');
    expect(waited.code).toBe(130);
    await settledLeftovers(target);
  });
});
