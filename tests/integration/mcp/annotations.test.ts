import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_ANNOTATIONS, type ToolName } from '../../../src/mcp/tools.js';
import { onHost, startCli, startTarget, type Target } from '../../helpers/driver.js';
import { hostState, startMcp, type McpSession } from '../../helpers/mcp.js';

// The annotations table (src/mcp/tools.ts) against what each tool does to the simulated host:
// a read-only tool changes nothing, a destructive one changes what was there, an idempotent one
// called twice leaves the state of one call, and one that is not idempotent changes it again.
interface Case {
  tool: ToolName;
  args: () => Record<string, unknown>;
  // Called a second time to check idempotentHint (false where a second call is refused: a name taken).
  twice: boolean;
  // A second call may answer an error (delete: the VM is gone already).
  secondMayFail?: boolean;
  // Puts the VM in the state the tool acts on.
  before?: () => Promise<void>;
}

describe('linus mcp: each tool does what its annotations say', () => {
  let target: Target;
  let mcp: McpSession;
  let vm: number;
  let leftover: number;
  const vmArgs = (name: string) => ({ name, sshKeyFile: `${target.info.identityFile}.pub`, imageUrl: target.info.imageUrl, imageSha256: target.info.imageSha256, disk: 4 });
  const provision = async (name: string) => {
    const result = await mcp.call('provision_vm', vmArgs(name));
    expect(result.structuredContent.ok, JSON.stringify(result.structuredContent)).toBe(true);
    return result.structuredContent.vm.id as number;
  };

  beforeAll(async () => {
    target = await startTarget();
    mcp = await startMcp(target.flags());
    vm = await provision('ann-vm');
    const template = await provision('ann-tpl');
    await onHost(target, `qm stop ${template} && qm template ${template}`);
    // A leftover as tests/integration/cli/gc.test.ts makes one: driver and job killed once the VM exists.
    target.simHost.setFaults({ agent: 'never', neighbour: false });
    const doomed = startCli(['provision', ...target.flags(), ...target.vmFlags('ann-doomed'), '--timeout', '60', '--json']);
    await doomed.waitForStderr(/waiting for its IP address/);
    const jobsDir = path.join(target.info.remoteDir, 'jobs');
    const job = fs.readdirSync(jobsDir).find((id) => fs.readFileSync(path.join(jobsDir, id, 'state'), 'utf8').trim() === 'running') as string;
    doomed.child.kill('SIGKILL');
    await doomed.result;
    process.kill(-Number(fs.readFileSync(path.join(jobsDir, job, 'pid'), 'utf8')), 'SIGKILL');
    target.simHost.clearFaults();
    leftover = target.simHost.listVms().find((entry) => entry.config.name === 'ann-doomed')?.vmid ?? Number.NaN;
    expect(leftover).toBeGreaterThan(0);
  }, 120_000);
  afterAll(async () => {
    await mcp?.close();
    await target?.dispose();
  });

  const start = async () => void (await mcp.call('start_vm', { vm }));
  const fleetYaml = () =>
    `fleet: ann\ndefaults: {sshKey: ${target.info.identityFile}.pub, imageUrl: '${target.info.imageUrl}', imageSha256: ${target.info.imageSha256}, disk: 4}\nvms:\n  - name: ann-f1\n`;
  // Without a client that can ask, confirm must list exactly the VMs it would remove.
  const refuseWrongList = async () => {
    const before = hostState(target);
    for (const confirm of [undefined, `${leftover},${vm}`]) {
      const refused = await mcp.call('clean_leftovers', { olderThanSeconds: 0, ...(confirm === undefined ? {} : { confirm }) });
      expect(refused.structuredContent).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED', remediation: expect.stringContaining(`confirm: '${leftover}'`) } });
    }
    expect(hostState(target)).toBe(before);
  };
  const cases: Case[] = [
    { tool: 'list_vms', args: () => ({}), twice: true },
    { tool: 'get_vm', args: () => ({ vm: 'ann-vm' }), twice: true },
    { tool: 'get_capacity', args: () => ({}), twice: true },
    { tool: 'find_leftovers', args: () => ({ olderThanSeconds: 0 }), twice: true },
    { tool: 'stop_vm', args: () => ({ vm }), twice: true },
    { tool: 'start_vm', args: () => ({ vm }), twice: true },
    { tool: 'shutdown_vm', args: () => ({ vm: 'ann-vm' }), twice: true },
    // A reboot leaves the VM as it found it (running): there is no second state to compare.
    { tool: 'reboot_vm', args: () => ({ vm }), twice: false, before: start },
    { tool: 'update_vm', args: () => ({ vm, description: 'changed through mcp', cores: 3 }), twice: true },
    { tool: 'resize_vm_disk', args: () => ({ vm, size: '+1' }), twice: true },
    { tool: 'clone_vm', args: () => ({ template: 'ann-tpl', name: 'ann-clone', sshKeyFile: `${target.info.identityFile}.pub` }), twice: false },
    { tool: 'provision_vm', args: () => vmArgs('ann-new'), twice: false },
    { tool: 'plan_fleet', args: () => ({ file: fleetYaml() }), twice: true },
    // The same file a second time finds nothing to do.
    { tool: 'apply_fleet', args: () => ({ file: fleetYaml() }), twice: true },
    { tool: 'delete_vm', args: () => ({ vm: 'ann-clone', stop: true, confirm: 'ann-clone' }), twice: true, secondMayFail: true },
    { tool: 'clean_leftovers', args: () => ({ olderThanSeconds: 0, confirm: String(leftover) }), twice: true, before: refuseWrongList },
  ];

  it('has a case for every tool of the table', () => {
    expect(cases.map((entry) => entry.tool).sort()).toEqual(Object.keys(TOOL_ANNOTATIONS).sort());
  });

  for (const entry of cases) {
    const hints = TOOL_ANNOTATIONS[entry.tool];
    it(`${entry.tool}: ${JSON.stringify(hints)}`, async () => {
      await entry.before?.();
      const before = hostState(target);
      const first = await mcp.call(entry.tool, entry.args());
      expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
      const once = hostState(target);
      if (hints.readOnlyHint) expect(once).toBe(before);
      if (!hints.readOnlyHint && hints.destructiveHint) expect(once, 'a destructive tool changed nothing').not.toBe(before);
      if (!entry.twice) return;
      const second = await mcp.call(entry.tool, entry.args());
      if (!entry.secondMayFail) expect(second.isError, JSON.stringify(second.structuredContent)).toBeFalsy();
      if (hints.idempotentHint) expect(hostState(target)).toBe(once);
      else expect(hostState(target)).not.toBe(once);
    });
  }

  it('clean_leftovers removed the leftover only when confirm listed it', async () => {
    expect(target.simHost.vmConfig(leftover)).toBeUndefined();
    expect(target.simHost.vmConfig(vm)?.name).toBe('ann-vm');
  });
});
