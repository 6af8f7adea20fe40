import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onHost, runCli, startTarget, type Target } from '../../helpers/driver.js';

// VMs named by name in `linus vm`, and `linus ssh`. The simulated guests answer SSH banners only
// (no shell): `linus ssh --dry-run` shows the ssh argv linus would run.

describe('VMs by name, and linus ssh', () => {
  let target: Target;
  let vm: { id: number; ip: string; user: string };
  const cli = (...args: string[]) => runCli([...args, ...target.flags(), '--json']);

  beforeAll(async () => {
    // Prepared (snippets on local): linus' vendor-data gives the VM an agent, so `vm list` has its address.
    target = await startTarget({ prepared: true });
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('named'), '--disk', '4', '--vm-user', 'alice', '--json']);
    expect(result.code, result.stderr).toBe(0);
    vm = result.json().vm;
    // Two VMs that share a name (made outside linus: linus refuses a taken name).
    await onHost(target, 'qm create 190 --name twin --tags linus && qm create 191 --name twin --tags linus');
  }, 120_000);
  afterAll(async () => target.dispose());
  afterEach(() => target.simHost.clearFaults());

  it('vm status, config and set take the name as well as the ID', async () => {
    const byName = await cli('vm', 'status', 'named');
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.json()).toMatchObject({ ok: true, vm: { id: vm.id, name: 'named' } });
    const byId = await cli('vm', 'status', String(vm.id));
    expect(byId.json().vm).toMatchObject({ id: vm.id, name: 'named' });
    const set = await cli('vm', 'set', 'named', '--description', 'by name');
    expect(set.code, set.stderr).toBe(0);
    expect(target.simHost.vmConfig(vm.id)?.description).toContain('by name');
  });

  it('an unknown name is VM_NOT_FOUND (exit 12) pointing at linus vm list, and nothing is changed', async () => {
    const result = await cli('vm', 'stop', 'no-such-vm');
    expect(result.code).toBe(12);
    expect(result.json().error).toMatchObject({ code: 'VM_NOT_FOUND', message: "no VM is named 'no-such-vm'" });
    expect(result.json().error.remediation).toContain('linus vm list');
    expect(target.simHost.listVms().find((entry) => entry.vmid === vm.id)?.running).toBe(true);
  });

  it('an ambiguous name is refused, listing the matching IDs and their nodes', async () => {
    const result = await runCli(['vm', 'delete', 'twin', '--yes', ...target.flags()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("2 VMs are named 'twin': 190 on pve, 191 on pve");
    expect(result.stderr).toContain('Name the VM by its ID');
    expect(target.simHost.listVms().map((entry) => entry.vmid)).toEqual(expect.arrayContaining([190, 191]));
  });

  it('linus mcp keeps its own remediation for an unknown name', async () => {
    const { resolveVm } = await import('../../../src/mcp/vm-ref.js');
    const deps = { ssh: { host: target.info.host, port: target.info.port, user: target.info.user, identityFile: target.info.identityFile, knownHostsFiles: [target.info.knownHostsFile], acceptNew: false, connectTimeoutMs: 15_000 }, remoteDir: target.info.remoteDir, nodeAddresses: {} };
    await expect(resolveVm(deps, 'no-such-vm')).rejects.toMatchObject({ code: 'VM_NOT_FOUND', remediation: 'Call list_vms for the VMs there are.' });
  });

  it('linus ssh --dry-run by name and by ID: the agent address, the user linus created, accept-new host keys', async () => {
    for (const ref of ['named', String(vm.id)]) {
      const result = await runCli(['ssh', ref, '--dry-run', ...target.flags()]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`ssh -o StrictHostKeyChecking=accept-new alice@${vm.ip}\n`);
    }
    const json = await runCli(['ssh', 'named', '--dry-run', '--json', '--key', target.info.identityFile, ...target.flags(), '--', 'uname', '-a']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json()).toMatchObject({ vm: { id: vm.id, name: 'named' }, address: vm.ip, user: 'alice', addressFrom: 'agent' });
    expect(json.json().argv).toEqual(['ssh', '-o', 'StrictHostKeyChecking=accept-new', '-i', target.info.identityFile, `alice@${vm.ip}`, '--', 'uname', '-a']);
    expect(json.json().argv.join(' ')).not.toContain('StrictHostKeyChecking=no');
  });

  it('linus ssh --vm-user overrides the recorded user', async () => {
    const result = await runCli(['ssh', 'named', '--dry-run', '--vm-user', 'root', ...target.flags()]);
    expect(result.stdout).toBe(`ssh -o StrictHostKeyChecking=accept-new root@${vm.ip}\n`);
  });

  it("linus ssh uses linus' record of the run when the guest agent does not answer", async () => {
    target.simHost.setFaults({ agent: 'never' });
    const result = await runCli(['ssh', 'named', '--dry-run', '--json', ...target.flags()]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ address: vm.ip, user: 'alice', addressFrom: 'record' });
  });

  it('linus ssh takes the static address and user of the spec linus recorded in the description when agent and run record say nothing', async () => {
    const spec = 'linus 1.0.0 run=abc123def os=ubuntu cores=1 memory=512M disk=4G user=bob ip=10.9.8.7/24 gw=10.9.8.1 cpu=host upgrade=0 keys=1 password=0';
    await onHost(target, `qm create 196 --name recorded --tags linus --description '${spec}' --net0 virtio,bridge=vmbr0 && qm start 196`);
    target.simHost.setFaults({ agent: 'never' });
    const result = await cli('ssh', 'recorded', '--dry-run');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({ vm: { id: 196 }, address: '10.9.8.7', user: 'bob', addressFrom: 'record' });
  });

  it('linus ssh to a VM with no known address is a clear error', async () => {
    await onHost(target, 'qm create 195 --name noaddr --tags linus --net0 virtio,bridge=vmbr0 && qm start 195');
    target.simHost.setFaults({ agent: 'never' });
    const result = await cli('ssh', 'noaddr', '--dry-run');
    expect(result.code).toBe(14);
    expect(result.json().error).toMatchObject({ code: 'VM_WRONG_STATE' });
    expect(result.json().error.message).toContain("VM 195 'noaddr' runs but linus knows no address for it");
  });

  it('linus ssh to a stopped VM says so and how to start it', async () => {
    await onHost(target, 'qm stop 190');
    const result = await cli('ssh', '190', '--dry-run');
    expect(result.code).toBe(14);
    expect(result.json().error.message).toBe("VM 190 'twin' is stopped, not running");
    expect(result.json().error.remediation).toContain('linus vm start twin');
  });

  it('linus ssh to an unknown name or ID is VM_NOT_FOUND', async () => {
    expect((await cli('ssh', 'ghost', '--dry-run')).json().error.code).toBe('VM_NOT_FOUND');
    const byId = await cli('ssh', '9999', '--dry-run');
    expect(byId.code).toBe(12);
    expect(byId.json().error.message).toBe('VM 9999 does not exist in the cluster');
  });
});
