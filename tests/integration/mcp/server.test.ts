import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { READ_TOOLS, TOOL_ANNOTATIONS } from '../../../src/mcp/tools.js';
import { settledLeftovers, startRelay, startTarget, type Target } from '../../helpers/driver.js';
import { waitFor } from '../../helpers/local-runner.js';
import { hostState, startMcp, type McpSession } from '../../helpers/mcp.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

// `linus mcp` end to end: the SDK's client spawns the server on stdio; the server reaches the
// simulated host through a real OpenSSH sshd, as it would a real host.
describeWithSshd('linus mcp through a real OpenSSH sshd', () => {
  let target: Target;
  let mcp: McpSession;
  // The foreign VM the simulator starts with (no 'linus' tag).
  const FOREIGN = 100;
  const vmArgs = (name: string) => ({ name, sshKeyFile: `${target.info.identityFile}.pub`, imageUrl: target.info.imageUrl, imageSha256: target.info.imageSha256, disk: 4 });

  beforeAll(async () => {
    target = await startTarget({ sshd: true, existingVms: 1 });
    mcp = await startMcp(target.flags());
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await target?.dispose();
  });

  it('lists every tool with the annotations of the one table, and an output schema', async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(TOOL_ANNOTATIONS).sort());
    for (const tool of tools) {
      expect(tool.annotations, tool.name).toEqual(TOOL_ANNOTATIONS[tool.name as keyof typeof TOOL_ANNOTATIONS]);
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.inputSchema.additionalProperties, tool.name).toBe(false);
    }
  });

  it('--read-only offers only the tools that change nothing', async () => {
    const readOnly = await startMcp([...target.flags(), '--read-only']);
    try {
      const { tools } = await readOnly.client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS].sort());
      expect(tools.every((tool) => tool.annotations?.readOnlyHint === true)).toBe(true);
      // A mutating tool is not there to call: a protocol error, the request names no tool.
      await expect(readOnly.call('delete_vm', { vm: FOREIGN, confirm: 'existing-100' })).resolves.toMatchObject({ isError: true });
      expect(target.simHost.vmConfig(FOREIGN)).toBeDefined();
    } finally {
      await readOnly.close();
    }
  });

  it('provision_vm sends a progress notification for every host step, then the VM as --json prints it', async () => {
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await mcp.client.callTool({ name: 'provision_vm', arguments: vmArgs('mcp-web') }, CallToolResultSchema, { onprogress: (note) => void progress.push(note) });
    const structured = result.structuredContent as Record<string, any>;
    expect(result.isError, JSON.stringify(structured)).toBeFalsy();
    expect(structured).toMatchObject({ ok: true, vm: { name: 'mcp-web', user: 'ubuntu', node: target.info.node }, runId: expect.any(String) });
    expect(target.simHost.vmConfig(structured.vm.id)?.name).toBe('mcp-web');
    expect(target.simHost.vmConfig(structured.vm.id)?.tags).toMatch(/linus/);
    // LINUS_STEP 1/9 .. 9/9: one notification each, strictly increasing, out of 9, with the step's text.
    expect(progress.map((note) => note.progress)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(progress.every((note) => note.total === 9 && note.message)).toBe(true);
    expect(progress[2]?.message).toBe('claiming a VM ID');
    expect(result.content).toEqual([{ type: 'text', text: expect.stringMatching(/is ready on node .*ssh ubuntu@/) }]);
  });

  it('provision_vm of a taken name: NAME_CONFLICT pointing at ifExists; ifExists reuse returns the VM (reused), nothing new', async () => {
    const before = target.simHost.listVms().length;
    const taken = await mcp.call('provision_vm', vmArgs('mcp-web'));
    expect(taken.structuredContent).toMatchObject({ ok: false, error: { code: 'NAME_CONFLICT' } });
    expect(taken.structuredContent.error.remediation).toContain("ifExists: 'reuse'");
    const again = await mcp.call('provision_vm', { ...vmArgs('mcp-web'), ifExists: 'reuse' });
    expect(again.structuredContent).toMatchObject({ ok: true, reused: true, vm: { name: 'mcp-web', user: 'ubuntu' } });
    expect(again.content).toEqual([{ type: 'text', text: expect.stringMatching(/'mcp-web' exists with these settings \(reused\)/) }]);
    expect(target.simHost.listVms().length).toBe(before);
  });

  it('cancelling provision_vm mid-run rolls the VM back: nothing is left', async () => {
    const before = await settledLeftovers(target);
    target.simHost.clearCalls();
    const controller = new AbortController();
    const call = mcp.client.callTool({ name: 'provision_vm', arguments: vmArgs('mcp-cancelled') }, CallToolResultSchema, {
      signal: controller.signal,
      // Abort once the VM is created (step 5 configures cloud-init): there is a VM to roll back.
      onprogress: (note) => {
        if (note.progress >= 5) controller.abort('the user changed their mind');
      },
    });
    await expect(call).rejects.toThrow();
    // The SDK sends no answer to a cancelled request; the server's log shows what it would have been.
    await mcp.waitForStderr(/provision_vm: CANCELLED in \d+ ms \(the client cancelled the call\)/);
    expect(await settledLeftovers(target)).toEqual(before);
    expect(target.simHost.listVms().filter((vm) => vm.config.name === 'mcp-cancelled')).toEqual([]);
    const created = target.simHost.calls().find((call) => call.tool === 'qm' && call.argv[0] === 'create');
    expect(created, 'a VM was created before the cancel').toBeDefined();
    expect(target.simHost.calls().some((call) => call.tool === 'qm' && call.argv[0] === 'destroy' && call.argv[1] === created?.argv[1])).toBe(true);
  });

  it('a client that goes away mid-provision leaves no half VM: the server rolls it back, and list_vms says so', async () => {
    const before = await settledLeftovers(target);
    const quitter = await startMcp(target.flags());
    let created = false;
    const call = quitter.client
      .callTool({ name: 'provision_vm', arguments: vmArgs('mcp-abandoned') }, CallToolResultSchema, {
        onprogress: (note) => {
          if (note.progress >= 5) created = true;
        },
      })
      .catch(() => undefined);
    await waitFor(async () => (created ? true : undefined), 30_000);
    // The client closes its end (as a client that quits does) while the VM boots.
    await quitter.close();
    await call;
    expect(await settledLeftovers(target)).toEqual(before);
    const listed = await mcp.call('list_vms');
    expect(listed.structuredContent.vms.map((vm: { name?: string }) => vm.name)).not.toContain('mcp-abandoned');
  });

  it('delete_vm refuses a foreign VM, wants the name of its own, and deletes it by name with confirm', async () => {
    const foreignBefore = hostState(target);
    const foreign = await mcp.call('delete_vm', { vm: FOREIGN, confirm: 'existing-100' });
    expect(foreign.isError).toBe(true);
    expect(foreign.structuredContent).toMatchObject({ ok: false, error: { code: 'VM_NOT_OWNED', remediation: expect.stringMatching(/--allow-foreign/) } });
    expect(hostState(target)).toBe(foreignBefore);

    const own = await mcp.call('provision_vm', vmArgs('mcp-doomed'));
    const id = own.structuredContent.vm.id as number;
    const before = hostState(target);
    for (const confirm of [undefined, 'mcp-web']) {
      const refused = await mcp.call('delete_vm', { vm: 'mcp-doomed', stop: true, ...(confirm === undefined ? {} : { confirm }) });
      expect(refused.structuredContent).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED', remediation: expect.stringMatching(/confirm: 'mcp-doomed'/) } });
      expect(hostState(target)).toBe(before);
    }
    const deleted = await mcp.call('delete_vm', { vm: 'mcp-doomed', stop: true, confirm: 'mcp-doomed' });
    expect(deleted.structuredContent).toMatchObject({ ok: true, vm: { id, name: 'mcp-doomed', op: 'delete', stopped: true } });
    expect(target.simHost.vmConfig(id)).toBeUndefined();
  });

  it('apply_fleet makes a fleet file true, sends progress, and deletes (prune) only with the fleet\'s name as confirm', async () => {
    const yaml = (names: string[]) =>
      `fleet: mcpf\ndefaults: {sshKey: ${target.info.identityFile}.pub, imageUrl: '${target.info.imageUrl}', imageSha256: ${target.info.imageSha256}, disk: 4}\nvms:\n${names.map((name) => `  - name: ${name}\n`).join('')}`;
    const progress: string[] = [];
    const made = (await mcp.client.callTool({ name: 'apply_fleet', arguments: { file: yaml(['mcpf-1', 'mcpf-2']) } }, CallToolResultSchema, { onprogress: (note) => void progress.push(note.message ?? '') })) as { structuredContent: Record<string, any> };
    expect(made.structuredContent).toMatchObject({ ok: true, fleet: 'mcpf', vms: [{ name: 'mcpf-1', action: 'create', ok: true }, { name: 'mcpf-2', action: 'create', ok: true }] });
    expect(progress).toEqual(expect.arrayContaining(['mcpf-1: create on node pve']));
    const plan = await mcp.call('plan_fleet', { file: yaml(['mcpf-1']), prune: true });
    expect(plan.structuredContent).toMatchObject({ ok: true, summary: { delete: 1, unchanged: 1 }, changes: [{ action: 'unchanged', name: 'mcpf-1' }, { action: 'delete', name: 'mcpf-2' }] });
    const before = hostState(target);
    const refused = await mcp.call('apply_fleet', { file: yaml(['mcpf-1']), prune: true });
    expect(refused.structuredContent).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED', remediation: expect.stringMatching(/confirm: 'mcpf'/) } });
    expect(hostState(target)).toBe(before);
    const pruned = await mcp.call('apply_fleet', { file: yaml(['mcpf-1']), prune: true, confirm: 'mcpf' });
    expect(pruned.structuredContent).toMatchObject({ ok: true, vms: [{ name: 'mcpf-1', action: 'unchanged' }, { name: 'mcpf-2', action: 'delete', ok: true }] });
    expect(target.simHost.listVms().map((vm) => vm.config.name)).not.toContain('mcpf-2');
  });

  it('delete_vm asks the user through elicitation: a decline changes nothing, an accept deletes', async () => {
    const own = await mcp.call('provision_vm', vmArgs('mcp-asked'));
    const id = own.structuredContent.vm.id as number;
    const asked: string[] = [];
    const decline = await startMcp(target.flags(), { elicit: (message) => (asked.push(message), { action: 'decline' }) });
    try {
      const before = hostState(target);
      // With a client that can ask, the confirm field does not stand in for the user.
      const declined = await decline.call('delete_vm', { vm: id, stop: true, confirm: 'mcp-asked' });
      expect(declined.structuredContent).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED', message: expect.stringMatching(/user declined/) } });
      expect(hostState(target)).toBe(before);
      expect(asked).toEqual([`Delete VM ${id} 'mcp-asked' on node ${target.info.node} with its disks?`]);
    } finally {
      await decline.close();
    }
    const accept = await startMcp(target.flags(), { elicit: () => ({ action: 'accept', content: { confirm: true } }) });
    try {
      const deleted = await accept.call('delete_vm', { vm: id, stop: true });
      expect(deleted.structuredContent).toMatchObject({ ok: true, vm: { id, op: 'delete' } });
      expect(target.simHost.vmConfig(id)).toBeUndefined();
    } finally {
      await accept.close();
    }
  });

  it('names an unknown VM name as VM_NOT_FOUND, and a bad argument as INVALID_SPEC, as results', async () => {
    expect((await mcp.call('get_vm', { vm: 'no-such-vm' })).structuredContent).toMatchObject({ ok: false, error: { code: 'VM_NOT_FOUND' } });
    expect((await mcp.call('provision_vm', { ...vmArgs('bad-ip'), ip: '10.0.0.300/24' })).structuredContent).toMatchObject({ ok: false, error: { code: 'INVALID_SPEC', message: expect.stringMatching(/--ip/) } });
  });

  it('reuses one SSH connection across calls and opens a new one after it dropped', async () => {
    const relay = await startRelay(target.info.port);
    const viaRelay = await startMcp([...target.flags({ port: String(relay.port) }), '--host-key', target.info.hostKeyFingerprint]);
    try {
      for (let index = 0; index < 3; index += 1) expect((await viaRelay.call('list_vms')).structuredContent.ok).toBe(true);
      expect(relay.connections()).toBe(1);
      relay.cut();
      const after = await viaRelay.call('list_vms');
      expect(after.structuredContent, JSON.stringify(after.structuredContent)).toMatchObject({ ok: true, vms: expect.arrayContaining([expect.objectContaining({ name: 'mcp-web' })]) });
      expect(relay.connections()).toBe(2);
      expect((await viaRelay.call('get_capacity')).structuredContent.ok).toBe(true);
      expect(relay.connections()).toBe(2);
    } finally {
      await viaRelay.close();
      await relay.close();
    }
  });
});
