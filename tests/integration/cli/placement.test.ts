import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { startImageServer } from '../../../src/sim/image-server.js';
import { hostSettingsSchema } from '../../../src/sim/settings.js';
import { startSshEndpoint } from '../../../src/sim/ssh-endpoint.js';
import { startSshd } from '../../../src/sim/sshd.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';
import { runCli } from '../../helpers/driver.js';

const GiB = 1024 ** 3;

// A simulated two-node cluster (pve, pve2), each node behind its own SSH endpoint that accepts the
// same client key; linus connects to pve and reaches pve2 through --node-address.
interface Cluster {
  simHost: SimHost;
  flags(extra?: string[]): string[];
  vmFlags(name: string): string[];
  setMemory(memory: Record<string, number>): void;
  vms(): Array<{ vmid: number; node: string; name: string | undefined; tags: string[]; running: boolean }>;
  dispose(): Promise<void>;
}

type Transport = 'embedded' | 'sshd';

async function startCluster(transport: Transport = 'embedded'): Promise<Cluster> {
  const start = transport === 'sshd' ? startSshd : startSshEndpoint;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-placement-'));
  const simHost = await createSimHost({
    root: path.join(dir, 'host'),
    settings: { nodes: [{ name: 'pve' }, { name: 'pve2' }], bootDelayMs: 300, agentPingTimeoutMs: 300 },
  });
  const one = await start({ hostShell: simHost.hostShell('pve'), home: simHost.paths.home, dir: path.join(dir, 'ssh-pve') });
  const client = { identityFile: one.identityFile, publicKey: fs.readFileSync(`${one.identityFile}.pub`, 'utf8').trim() };
  const two = await start({ hostShell: simHost.hostShell('pve2'), home: simHost.paths.home, dir: path.join(dir, 'ssh-pve2'), client });
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, fs.readFileSync(one.knownHostsFile, 'utf8') + fs.readFileSync(two.knownHostsFile, 'utf8'));
  const images = await startImageServer({ dir: path.join(dir, 'images') });
  const image = images.images[0];
  if (!image) throw new Error('no image served');
  return {
    simHost,
    // Storage and bridge are linus' defaults (local-lvm, vmbr0): only provision names them, so the
    // flags serve every command.
    flags: (extra = []) => [
      '--host', one.host, '--port', String(one.port), '--user', one.user, '--identity', one.identityFile, '--known-hosts', knownHosts,
      '--remote-dir', simHost.paths.remoteDir,
      '--node-address', `pve2=${two.host}:${two.port}`, ...extra,
    ],
    vmFlags: (name) => ['--name', name, '--ssh-key', `${one.identityFile}.pub`, '--image-url', image.url, '--image-sha256', image.sha256, '--disk', '4'],
    setMemory(memory) {
      const file = simHost.paths.hostJson;
      const settings = hostSettingsSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
      settings.nodes = settings.nodes.map((node) => ({ ...node, memoryBytes: Math.round(memory[node.name] ?? node.memoryBytes) }));
      fs.writeFileSync(file, JSON.stringify(settings));
    },
    vms: () =>
      simHost.listVms().map(({ vmid, node, config, running }) => ({ vmid, node, name: config.name, tags: (config.tags ?? '').split(';'), running })),
    dispose: async () => {
      await Promise.allSettled([one.close(), two.close(), images.close()]);
      await simHost.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function placementSuite(transport: Transport) {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(transport);
  });
  afterAll(async () => cluster.dispose());
  afterEach(() => cluster.simHost.clearFaults());

  it('--node auto provisions on the node with the most free memory, over that node\'s own SSH endpoint', async () => {
    cluster.setMemory({ pve: 32 * GiB, pve2: 64 * GiB });
    const result = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('auto-1'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { vm, stats } = result.json();
    expect(vm).toMatchObject({ name: 'auto-1', node: 'pve2' });
    expect(cluster.vms().find((entry) => entry.vmid === vm.id)).toMatchObject({ node: 'pve2', name: 'auto-1', running: true });
    // The placement costs one exec once the vm script is cached (here it is uploaded first).
    expect(stats.place).toMatchObject({ uploads: 1 });

    // The other way round: pve now has more free memory.
    cluster.setMemory({ pve: 64 * GiB, pve2: 16 * GiB });
    const second = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('auto-2'), '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json().vm.node).toBe('pve');
    expect(second.json().stats.place).toEqual({ execs: 1, uploads: 0 });
    expect(cluster.vms().find((entry) => entry.name === 'auto-2')).toMatchObject({ node: 'pve', running: true });
  }, 120_000);

  it('--count 5 --name dev-{n} creates five VMs concurrently, spread over both nodes, each with its own run id', async () => {
    cluster.setMemory({ pve: 64 * GiB, pve2: 64 * GiB });
    cluster.simHost.clearCalls();
    const result = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('dev-{n}'), '--count', '5', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { ok, vms } = result.json();
    expect(ok).toBe(true);
    expect(vms.map((entry: { name: string }) => entry.name)).toEqual(['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
    const runIds = new Set(vms.map((entry: { runId: string }) => entry.runId));
    expect(runIds.size).toBe(5);
    for (const entry of vms) {
      expect(entry).toMatchObject({ ok: true, vm: { name: entry.name, node: entry.node } });
      const state = cluster.vms().find((candidate) => candidate.vmid === entry.vm.id);
      expect(state).toMatchObject({ name: entry.name, node: entry.node, running: true });
      expect(state?.tags).toEqual(expect.arrayContaining(['linus', `linus-${entry.runId}`]));
    }
    const perNode = (node: string) => cluster.vms().filter((entry) => entry.name?.startsWith('dev-') && entry.node === node).length;
    expect(perNode('pve')).toBeGreaterThanOrEqual(2);
    expect(perNode('pve2')).toBeGreaterThanOrEqual(2);
    // The jobs on pve take what the placement read there; those on pve2 read their own node.
    const reads = (node: string, what: string) => cluster.simHost.calls().filter((call) => call.node === node && [call.tool, ...call.argv].join(' ').startsWith(what)).length;
    expect(reads('pve', 'pveversion')).toBe(1);
    expect(reads('pve', 'pvesh get /cluster/resources')).toBe(1);
    expect(reads('pve2', 'pveversion')).toBe(perNode('pve2'));
    expect(reads('pve', 'qm create')).toBe(perNode('pve'));
  }, 180_000);

  it('--count with a failure on one node rolls back only the failed VMs and keeps the others; the exit code is the failure\'s', async () => {
    cluster.setMemory({ pve: 64 * GiB, pve2: 64 * GiB });
    cluster.simHost.setFaults({ startFailNodes: ['pve2'] });
    const result = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('mix-{n}'), '--count', '3', '--json']);
    expect(result.code, result.stderr).toBe(5);
    const { ok, vms } = result.json();
    expect(ok).toBe(false);
    expect(vms).toHaveLength(3);
    const failed = vms.filter((entry: { ok: boolean }) => !entry.ok);
    const kept = vms.filter((entry: { ok: boolean }) => entry.ok);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    for (const entry of failed) {
      expect(entry).toMatchObject({ node: 'pve2', error: { code: 'START_FAILED' } });
      expect(entry.vmId).toEqual(expect.any(Number));
      // Cleaned up on its own: no VM, no volume of its ID, unless a kept VM claimed the freed ID after.
      const reused = kept.find((other: { vm: { id: number } }) => other.vm.id === entry.vmId);
      expect(cluster.vms().some((candidate) => candidate.name === entry.name)).toBe(false);
      expect(cluster.vms().filter((candidate) => candidate.vmid === entry.vmId).map((candidate) => candidate.name)).toEqual(reused ? [reused.name] : []);
      if (!reused) expect(cluster.simHost.volumes().filter((volume) => volume.vmid === entry.vmId)).toEqual([]);
    }
    for (const entry of kept) {
      expect(entry.node).toBe('pve');
      expect(cluster.vms().find((candidate) => candidate.vmid === entry.vm.id)).toMatchObject({ name: entry.name, node: 'pve', running: true });
    }
  }, 120_000);

  it("a VM on pve2 asked for through pve: pve refuses it (VM_ON_OTHER_NODE with LINUS_ERROR_NODE:pve2), pve2's endpoint answers", async () => {
    execFileSync(cluster.simHost.hostShell('pve2'), ['-c', 'qm create 190 --name far --tags linus']);
    const result = await runCli(['vm', 'status', '190', ...cluster.flags(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ ok: true, vm: { id: 190, node: 'pve2', name: 'far', state: 'stopped' }, stats: { via: 'pve2' } });
    const without = await runCli(['vm', 'status', '190', ...cluster.flags().slice(0, -2), '--json']);
    expect(without.code).toBe(17);
    expect(without.json().error).toMatchObject({ code: 'VM_ON_OTHER_NODE', message: "VM 190 is on node 'pve2', this is node 'pve'" });
  });

  it('vm list --node and capacity --node show that node only (the VM list and /cluster/resources are the whole cluster\'s); a node not in the cluster is NODE_NOT_FOUND', async () => {
    const all = await runCli(['vm', 'list', ...cluster.flags(), '--json']);
    expect(all.code, all.stderr).toBe(0);
    const rows = all.json().vms as Array<{ id: number; node: string }>;
    for (const node of ['pve', 'pve2']) {
      const mine = rows.filter((row) => row.node === node).map((row) => row.id);
      expect(mine.length, node).toBeGreaterThan(0);
      const only = await runCli(['vm', 'list', '--node', node, ...cluster.flags(), '--json']);
      expect(only.code, only.stderr).toBe(0);
      expect((only.json().vms as Array<{ id: number }>).map((row) => row.id)).toEqual(mine);
      const text = await runCli(['vm', 'list', '--node', node, ...cluster.flags()]);
      expect(text.stdout).not.toMatch(new RegExp(` ${node === 'pve' ? 'pve2' : 'pve'} `));
    }
    const capacity = await runCli(['capacity', '--node', 'pve2', ...cluster.flags(), '--json']);
    expect(capacity.code, capacity.stderr).toBe(0);
    expect(capacity.json().nodes.map((row: { node: string }) => row.node)).toEqual(['pve2']);
    expect(capacity.json().storages.length).toBeGreaterThan(0);
    expect(new Set(capacity.json().storages.map((row: { node: string }) => row.node))).toEqual(new Set(['pve2']));
    const whole = await runCli(['capacity', ...cluster.flags(), '--json']);
    expect(whole.json().nodes.map((row: { node: string }) => row.node)).toEqual(['pve', 'pve2']);
    for (const command of [['vm', 'list'], ['capacity']]) {
      const unknown = await runCli([...command, '--node', 'pve9', ...cluster.flags(), '--json']);
      expect(unknown.code, command.join(' ')).toBe(3);
      expect(unknown.json().error).toMatchObject({ code: 'NODE_NOT_FOUND', message: "node 'pve9' is not in the cluster" });
    }
  });

  it('refuses --count N with a name without {n}, before connecting', async () => {
    const result = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('plain'), '--count', '2', '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error).toMatchObject({ code: 'INVALID_SPEC' });
    expect(result.json().error.message).toMatch(/\{n\}/);
  });
}

describe('linus provision placement on a two-node cluster, through embedded SSH endpoints', () => placementSuite('embedded'));
describeWithSshd('linus provision placement on a two-node cluster, through real OpenSSH sshds', () => placementSuite('sshd'));

describe('linus provision against the capacity thresholds', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => cluster.dispose());

  // Node memory in use: a 2 GiB host baseline; a new VM counts with its full 2 GiB.
  it('refuses past 90 % with CAPACITY_EXCEEDED and creates nothing, on an explicit node and with --node auto', async () => {
    cluster.setMemory({ pve: 4.2 * GiB, pve2: 4.2 * GiB });
    for (const node of ['pve', 'auto']) {
      const refused = await runCli(['provision', ...cluster.flags(['--node', node]), ...cluster.vmFlags(`cap-${node}`), '--json']);
      expect(refused.code, refused.stderr).toBe(10);
      expect(refused.json().error.code).toBe('CAPACITY_EXCEEDED');
      expect(refused.json().error.message).toMatch(/memory of node 'pve2?' would be 9\d(\.\d)? % used/);
    }
    const many = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('cap-{n}'), '--count', '2', '--json']);
    expect(many.code).toBe(10);
    expect(many.json()).toMatchObject({ ok: false, vms: [], error: { code: 'CAPACITY_EXCEEDED' } });
    expect(cluster.vms()).toEqual([]);
    expect(cluster.simHost.volumes()).toEqual([]);
  }, 60_000);

  it('warns past 80 % and still provisions; --force goes past 90 % with a warning', async () => {
    cluster.setMemory({ pve: 4.8 * GiB, pve2: 4.8 * GiB });
    const warned = await runCli(['provision', ...cluster.flags(['--node', 'pve']), ...cluster.vmFlags('cap-warn'), '--json']);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.json().warnings).toEqual([expect.stringMatching(/memory of node 'pve' will be 8\d(\.\d)? % used \(over 80 %\)/)]);
    cluster.setMemory({ pve: 4.2 * GiB, pve2: 4.2 * GiB });
    const forced = await runCli(['provision', ...cluster.flags(['--node', 'auto']), ...cluster.vmFlags('cap-forced'), '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().warnings.join('\n')).toMatch(/over 90 %, --force/);
    expect(cluster.vms().find((entry) => entry.name === 'cap-forced')).toMatchObject({ node: 'pve2', running: true });
  }, 120_000);
});
