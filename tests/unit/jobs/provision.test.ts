import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { place } from '../../../src/jobs/placement.js';
import { provisionVms } from '../../../src/jobs/provision.js';
import { runJob, type ProgressEvent } from '../../../src/jobs/run-job.js';
import { provisionerArgs } from '../../../src/provisioners/args.js';
import { LinusError } from '../../../src/protocol/errors.js';
import { loadProvisioner } from '../../../src/provisioners/bundle.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import type { Connection } from '../../../src/ssh/connection.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';

const GiB = 1024 ** 3;

// The provisioning coordinator against the simulated host through an in-process connection:
// placement, a refused run and its effects, cancellation. Full provisions (image, boot, SSH) are
// covered through the CLI in tests/integration/cli.
describe('jobs: placement and provisioning', () => {
  let host: SimHost;
  const provisioners = { proxmox: loadProvisioner('proxmox'), vm: loadProvisioner('vm') };
  beforeAll(async () => {
    host = await createSimHost({ settings: { nodes: [{ name: 'pve', memoryBytes: 8 * GiB }, { name: 'pve2', memoryBytes: 16 * GiB }] } });
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  const target = () => targetSchema.parse({ host: 'pve', remoteDir: host.paths.remoteDir });
  const spec = (name: string, memory = 2048) => vmSpecSchema.parse({ name, memory, password: true });

  it('places VMs on the reachable nodes with the most free memory, counting those already placed', async () => {
    const placed = await place(
      { ssh: localTarget(), connect: localConnect(host), provisioner: provisioners.vm, remoteDir: host.paths.remoteDir, nodeAddresses: { pve2: { host: 'pve2' } } },
      { node: 'auto', storage: 'local-lvm', bridge: 'vmbr0', memoryMiB: 4096, diskGiB: 4, count: 3, force: false },
    );
    expect(placed).toMatchObject({ ok: true, nodes: ['pve2', 'pve2', 'pve'], local: 'pve' });
  });

  it('refuses a run whose VMs do not fit the node before anything is created', async () => {
    const result = await provisionVms(
      { ssh: localTarget(), connect: localConnect(host, { pve2: 'pve2' }), nodeAddresses: { pve2: { host: 'pve2' } }, provisioners, onEvent: () => undefined },
      { target: { ...target(), node: 'pve' }, specs: [spec('big-1', 4096), spec('big-2', 4096)], sshKeys: undefined, dryRun: false, force: false, many: true },
    );
    expect(result.runs).toEqual([]);
    expect(result.placement?.error?.code).toBe('INSUFFICIENT_MEMORY');
    expect(host.listVms()).toEqual([]);
  });

  it('reports a run the host refuses as a failure with its code, leaving nothing behind', async () => {
    const events: ProgressEvent[] = [];
    const args = provisionerArgs({ ...target(), storage: 'nope' }, spec('refused'), undefined, false);
    const { outcome, stats } = await runJob({ connect: () => localConnect(host)(localTarget()), provisioner: provisioners.proxmox, remoteDir: host.paths.remoteDir, onEvent: (event) => events.push(event) }, args);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'STORAGE_NOT_FOUND' } });
    expect(stats.attempts).toBe(1);
    expect(events.some((event) => event.kind === 'step' && event.step.endsWith(':validate'))).toBe(true);
    expect(host.listVms()).toEqual([]);
    expect(host.locks()).toEqual([]);
  });

  it("a job's first attempt takes the placement's facts; an attempt after a transient failure reads the host again", async () => {
    const placed = await place(
      { ssh: localTarget(), connect: localConnect(host), provisioner: provisioners.vm, remoteDir: host.paths.remoteDir, nodeAddresses: {} },
      { node: 'pve', storage: 'local-lvm', bridge: 'vmbr0', memoryMiB: 512, diskGiB: 4, count: 1, force: false, names: { pattern: 'facts-1', reuse: false } },
    );
    expect(placed).toMatchObject({ ok: true, nodes: ['pve'], facts: expect.stringMatching(/^node=pve;storage=local-lvm;pve=8\.\d+;.*;free_ids=100,101,/) });
    const facts = placed.ok ? placed.facts : undefined;
    // Nothing serves the image: IMAGE_DOWNLOAD_FAILED, which is retried.
    const vm = vmSpecSchema.parse({ name: 'facts-1', password: true, imageUrl: 'http://127.0.0.1:9/image.qcow2', imageSha256: 'a'.repeat(64) });
    const args = (given?: string) => provisionerArgs({ ...target(), node: 'pve' }, vm, undefined, false, 'placed', false, {}, given);
    host.clearCalls();
    const { outcome, stats } = await runJob(
      { connect: () => localConnect(host)(localTarget()), provisioner: provisioners.proxmox, remoteDir: host.paths.remoteDir, onEvent: () => undefined, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } },
      args(facts),
      args(),
    );
    expect(outcome).toMatchObject({ ok: false, error: { code: 'IMAGE_DOWNLOAD_FAILED' } });
    expect(stats.attempts).toBe(2);
    expect(host.calls().filter((call) => call.tool === 'pveversion')).toHaveLength(1);
    expect(host.listVms()).toEqual([]);
  });

  it('a job that cannot be followed after its connection dropped names linus wait <run-id> in its remediation', async () => {
    const real = localConnect(host);
    const dropped = () => new LinusError({ code: 'CONNECTION_FAILED', message: 'connection reset' });
    let connections = 0;
    // The first connection starts the job and drops once the run id is out; every later one is refused.
    const connect = async (): Promise<Connection> => {
      connections += 1;
      if (connections > 1) throw dropped();
      const connection = await real(localTarget());
      return {
        ...connection,
        exec: (command, options = {}) =>
          new Promise((resolve, reject) => {
            void connection
              .exec(command, {
                ...options,
                onStdout: (chunk) => {
                  options.onStdout?.(chunk);
                  if (chunk.includes('LINUS_RUN_ID:')) reject(dropped());
                },
              })
              .then(resolve);
          }),
      };
    };
    const args = provisionerArgs({ ...target(), storage: 'nope' }, spec('dropped'), undefined, false);
    const run = runJob({ connect, provisioner: provisioners.proxmox, remoteDir: host.paths.remoteDir, onEvent: () => undefined, newRunId: () => 'drop-run-1', followBudgetMs: 200, retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } }, args);
    await expect(run).rejects.toMatchObject({ code: 'CONNECTION_FAILED', remediation: expect.stringContaining("'linus wait drop-run-1' picks it up again") });
  });

  it('sends nothing to the host once cancelled', async () => {
    const connect = localConnect(host);
    const controller = new AbortController();
    controller.abort();
    const args = provisionerArgs(target(), spec('never'), undefined, false);
    await expect(runJob({ connect: () => connect(localTarget()), provisioner: provisioners.proxmox, remoteDir: host.paths.remoteDir, onEvent: () => undefined, signal: controller.signal }, args)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(connect.opened()).toBe(0);
  });
});
