import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localRunner } from '../../helpers/local-runner.js';

// pvesh nextid is a read, not a reservation; `qm create` is the atomic claim (§9, §3).
describe('concurrent VM creation', () => {
  let host: SimHost;
  beforeEach(async () => {
    host = await createSimHost({ settings: { nodes: [{ name: 'pve' }, { name: 'pve2' }] } });
  });
  afterEach(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('lets exactly one of 10 concurrent `qm create 100` win', async () => {
    const runner = localRunner(host);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => runner.exec(`qm create 100 --name racer${i} --scsi0 local-lvm:1`)));
    const winners = results.filter((result) => result.code === 0);
    const losers = results.filter((result) => result.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect(loser.code).toBe(255);
      // Lock contention may add `trying to acquire lock...`/` OK` lines first, as on a real host.
      expect(loser.stderr.split('\n').filter(Boolean).at(-1)).toBe("unable to create VM 100 - VM 100 already exists on node 'pve'");
    }
    expect(fs.readdirSync(host.paths.qemuServerDir('pve'))).toEqual(['100.conf']);
    const config = host.vmConfig(100);
    expect(config?.lock).toBeUndefined();
    expect(winners[0]?.stdout).toContain("scsi0: successfully created disk 'local-lvm:vm-100-disk-0,size=1G'");
    expect(host.volumes().map((volume) => volume.volid)).toEqual(['local-lvm:vm-100-disk-0']);
    expect(host.locks()).toEqual([]);
  });

  it('claims IDs cluster-wide: another node cannot create an existing ID', async () => {
    expect((await localRunner(host, 'pve').exec('qm create 100')).code).toBe(0);
    expect(await localRunner(host, 'pve2').exec('qm create 100')).toEqual({ stdout: '', stderr: "unable to create VM 100 - VM 100 already exists on node 'pve'\n", code: 255 });
    expect((await localRunner(host, 'pve2').exec('pvesh get /cluster/nextid')).stdout).toBe('101\n');
  });

  it('vmlistStale: concurrent callers all get the same ID, and only one create wins', async () => {
    host.setFaults({ vmlistStale: true });
    const runner = localRunner(host);
    const ids = await Promise.all(Array.from({ length: 5 }, () => runner.exec('pvesh get /cluster/nextid')));
    expect(ids.map((result) => result.stdout)).toEqual(Array(5).fill('100\n'));
    const creates = await Promise.all(ids.map(() => runner.exec('id=$(pvesh get /cluster/nextid) && qm create "$id"')));
    expect(creates.filter((result) => result.code === 0)).toHaveLength(1);
    // The stale list still answers 100 after it was taken, and /cluster/resources does not list it.
    expect((await runner.exec('pvesh get /cluster/nextid')).stdout).toBe('100\n');
    const listed = async () => (JSON.parse((await runner.exec('pvesh get /cluster/resources --type vm --output-format json')).stdout) as Array<{ vmid: number }>).map((entry) => entry.vmid);
    expect(await listed()).toEqual([]);
    host.clearFaults();
    expect((await runner.exec('pvesh get /cluster/nextid')).stdout).toBe('101\n');
    expect(await listed()).toEqual([100]);
  });
});

describe('seeded hosts', () => {
  it('existingVms seeds stopped, untagged VMs with volumes, and nextid skips them', async () => {
    const host = await createSimHost({ existingVms: 3 });
    try {
      expect(host.listVms().map(({ vmid, running, config }) => [vmid, running, config.tags])).toEqual([
        [100, false, undefined],
        [101, false, undefined],
        [102, false, undefined],
      ]);
      expect(host.volumes().map((volume) => volume.volid)).toEqual(['local-lvm:vm-100-disk-0', 'local-lvm:vm-101-disk-0', 'local-lvm:vm-102-disk-0']);
      const runner = localRunner(host);
      expect((await runner.exec('pvesh get /cluster/nextid')).stdout).toBe('103\n');
      expect((await runner.exec('qm list')).stdout.split('\n')[1]).toBe('       100 existing-100         stopped    2048               1.00 0         ');
    } finally {
      await host.dispose();
      fs.rmSync(host.root, { recursive: true, force: true });
    }
  });
});
