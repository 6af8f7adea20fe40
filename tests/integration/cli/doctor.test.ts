import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, settledLeftovers, startTarget, type Target } from '../../helpers/driver.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

// The check ids docs/doctor.md documents, in the order doctor reports them.
const CHECK_IDS = [
  'tools.host', 'tools.download', 'tools.perl-json', 'pve.version', 'node.online', 'node.local', 'node.memory', 'storage.images', 'cpu.x86-64-v2',
  'storage.snippets', 'bridge.vmbr0', 'network.address-discovery', 'remote-dir', 'image-cache', 'clock',
];
const STOCK_LOCAL = 'iso,import,vztmpl,backup';
const FIX = `pvesm set local --content ${STOCK_LOCAL},snippets`;

type Check = { id: string; status: string; message: string; fix: string | null };
const byId = (checks: Check[]) => Object.fromEntries(checks.map((check) => [check.id, check]));
const storageCfg = (target: Target) => fs.readFileSync(target.simHost.paths.storageCfg, 'utf8');

function suite(transport: 'embedded' | 'sshd') {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({ sshd: transport === 'sshd' });
  });
  afterAll(async () => target.dispose());

  it('on a stock host passes, warns that no storage holds snippets and names the one safe fix', async () => {
    const result = await runCli(['doctor', ...target.flags(), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json();
    expect(report.ok).toBe(true);
    expect(report.checks.map((check: Check) => check.id)).toEqual(CHECK_IDS);
    const checks = byId(report.checks);
    expect(checks['storage.snippets']).toMatchObject({ status: 'warn', fix: FIX });
    // vmbr0 has the node's address: a DHCP guest there is found by a probe.
    expect(checks['network.address-discovery']).toMatchObject({ status: 'ok', fix: null });
    const node = `127.${target.simHost.settings.addressBlock}.0.2/24`;
    expect(checks['network.address-discovery']?.message).toContain(`a probe of ${node} on vmbr0`);
    expect(checks['bridge.vmbr0']?.message).toBe(`bridge, VLAN-aware, the node's address ${node} (--bridge)`);
    expect(checks['storage.images']?.message).toMatch(/^local-lvm \(lvmthin, content rootdir,images\): [\d.]+ GiB free of 500\.0 GiB$/);
    expect(report.fixes).toEqual([{ id: 'storage.snippets', command: FIX, applied: false }]);
    expect(storageCfg(target)).toContain(`\tcontent ${STOCK_LOCAL}\n`);
  });
}

describe('linus doctor through the embedded SSH endpoint', () => suite('embedded'));
describeWithSshd('linus doctor through a real OpenSSH sshd', () => suite('sshd'));

describe('linus doctor on a stock host, and provision after its fix', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({}, { agentInstallDelayMs: 300 });
  });
  afterAll(async () => target.dispose());

  it('fails with HOST_NOT_READY (27) where a DHCP guest on a VLAN the node is not on cannot be found', async () => {
    const result = await runCli(['doctor', ...target.flags(), '--vlan', '42', '--json']);
    expect(result.code, result.stderr).toBe(27);
    const report = result.json();
    expect(report).toMatchObject({ ok: false, error: { code: 'HOST_NOT_READY', exitCode: 27, message: '1 check failed: network.address-discovery' } });
    expect(byId(report.checks)['network.address-discovery']).toMatchObject({ status: 'fail', fix: FIX });
    expect(byId(report.checks)['network.address-discovery']?.message).toMatch(/^no way to learn the address of a DHCP guest on vmbr0 VLAN 42: /);
  });

  it('the text report shows each check, the fix under it, and the failure on stderr', async () => {
    const result = await runCli(['doctor', ...target.flags(), '--vlan', '42']);
    expect(result.code).toBe(27);
    expect(result.stdout).toMatch(/^STATUS {2}CHECK {22}RESULT\n/);
    expect(result.stdout).toContain(`warn    storage.snippets           no storage on node pve holds snippets`);
    expect(result.stdout).toContain(`\n                                   fix: ${FIX}\n`);
    expect(result.stdout).toContain(`1 check failed, 1 warning. 'linus doctor --fix' applies the safe fix: ${FIX}\n`);
    expect(result.stderr).toBe("linus: 1 check failed: network.address-discovery [HOST_NOT_READY]\n  Run the fix each failed check names ('linus doctor' prints them; 'linus doctor --fix' applies the safe ones), then run 'linus doctor' again.\n");
  });

  it('--fix without --yes and without a terminal changes nothing (CONFIRMATION_REQUIRED)', async () => {
    const before = storageCfg(target);
    const result = await runCli(['doctor', ...target.flags(), '--fix', '--json']);
    expect(result.code, result.stderr).toBe(16);
    expect(result.json().error).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(result.json().error.message).toContain(`'${FIX}' needs --yes`);
    expect(storageCfg(target)).toBe(before);
  });

  it('refuses a DHCP ubuntu provision on VLAN 42 before creating anything; after doctor --fix --yes it succeeds through the agent', async () => {
    const before = await settledLeftovers(target);
    const refused = await runCli(['provision', ...target.flags(), ...target.vmFlags('vlan-agent'), '--vlan', '42', '--json']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.json().error).toMatchObject({ code: 'IP_DISCOVERY_UNAVAILABLE' });
    expect(refused.json().error.remediation).toContain("'linus doctor --fix'");
    expect(await settledLeftovers(target)).toEqual(before);

    const fixed = await runCli(['doctor', ...target.flags(), '--vlan', '42', '--fix', '--yes', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.json()).toMatchObject({ ok: true, fixes: [{ id: 'storage.snippets', command: FIX, applied: true }] });
    const checks = byId(fixed.json().checks);
    expect(checks['storage.snippets']).toMatchObject({ status: 'ok', message: 'local holds snippets: linus adds the guest agent (vendor-data) to images without one' });
    expect(checks['network.address-discovery']?.message).toBe('a DHCP ubuntu-24.04 guest on vmbr0 VLAN 42: from the guest agent that vendor-data on local installs');
    // Only snippets was added, to local; local-lvm is as it was.
    expect(storageCfg(target)).toContain(`dir: local\n\tpath /var/lib/vz\n\tcontent ${STOCK_LOCAL},snippets\n`);
    expect(storageCfg(target)).toContain('lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n');

    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('vlan-agent'), '--vlan', '42', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { vm, runId } = result.json();
    expect(target.simHost.vmConfig(vm.id)).toMatchObject({ cicustom: 'vendor=local:snippets/linus-qga.yaml', agent: 'enabled=1' });
    expect(vm.ip).toMatch(new RegExp(`^127\\.${target.simHost.settings.addressBlock}\\.42\\.`));
    const log = fs.readFileSync(path.join(target.info.remoteDir, 'jobs', runId, 'log'), 'utf8');
    expect(log).toContain(`address ${vm.ip} from the guest agent`);
  });

  it('a second --fix finds nothing to fix and changes nothing', async () => {
    const before = storageCfg(target);
    const result = await runCli(['doctor', ...target.flags(), '--fix', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json().fixes).toEqual([]);
    expect(storageCfg(target)).toBe(before);
  });
});

describe('linus doctor names what provision would refuse', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());

  it('a bridge that does not exist, and a storage without images content', async () => {
    const result = await runCli(['doctor', ...target.flags({ bridge: 'vmbr9', storage: 'local' }), '--json']);
    expect(result.code, result.stderr).toBe(27);
    const checks = byId(result.json().checks);
    expect(checks['bridge.vmbr9']).toMatchObject({ status: 'fail', message: "bridge 'vmbr9' does not exist on node 'pve'", fix: 'pass --bridge with one of: vmbr0' });
    expect(checks['storage.images']).toMatchObject({ status: 'fail', message: `storage 'local' does not hold VM images (content: ${STOCK_LOCAL})` });
    expect(checks['network.address-discovery']).toMatchObject({ status: 'skip', message: 'not checked: bridge vmbr9 failed' });
    expect(result.json().error.message).toBe('2 checks failed: storage.images, bridge.vmbr9');
    // What provision says for the same settings.
    const provision = await runCli(['provision', ...target.flags({ bridge: 'vmbr9' }), ...target.vmFlags('no-bridge'), '--json']);
    expect(provision.json().error).toMatchObject({ code: 'BRIDGE_NOT_FOUND', message: checks['bridge.vmbr9']?.message });
  });

  it('refuses --vlan 0 before connecting', async () => {
    const result = await runCli(['doctor', ...target.flags(), '--vlan', '0', '--json']);
    expect(result.code).toBe(1);
    expect(result.json().error).toMatchObject({ code: 'INVALID_SPEC', message: '--vlan: must be an integer from 1 to 4094, got 0' });
  });
});
