import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLIENT_FILES, MCP_CLIENTS } from '../../../src/agents/mcp-config.js';
import { runCliProcess, startTarget, type Target } from '../../helpers/driver.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

// Acceptance of `linus mcp`: the entry `linus mcp-config --server linus` writes for each client,
// started exactly as that client starts it (its command, args and env, nothing else), gives a
// ready VM in one provision_vm call, with progress.
describeWithSshd('linus mcp as the generated client configs start it', () => {
  let target: Target;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-mcp-clients-'));
  beforeAll(async () => {
    target = await startTarget({ sshd: true });
  }, 60_000);
  afterAll(async () => {
    await target?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(MCP_CLIENTS)('%s: one provision_vm call, a ready VM, a progress notification per step', async (client) => {
    const project = path.join(dir, client);
    const written = await runCliProcess(['mcp-config', '--client', client, '--server', 'linus', ...target.flags(), '--write', project]);
    expect(written.code, written.stderr).toBe(0);
    const document = JSON.parse(fs.readFileSync(path.join(project, CLIENT_FILES[client]), 'utf8'));
    const entry = document.mcpServers.linus as { command: string; args: string[]; env?: Record<string, string> };
    const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...entry.env }, stderr: 'pipe' });
    const mcp = new Client({ name: `${client}-as-generated`, version: '0' });
    await mcp.connect(transport);
    // What the server sent, read off the wire: the SDK's client drops a progress notification read
    // in one chunk with the answer (src/mcp/server.ts waits PROGRESS_GAP_MS against it, which a
    // client stalled longer by a loaded machine still misses; tests/unit/mcp/progress.test.ts).
    const sent: number[] = [];
    const deliver = transport.onmessage;
    transport.onmessage = (message: JSONRPCMessage) => {
      if ('method' in message && message.method === 'notifications/progress') sent.push(Number(message.params?.progress));
      deliver?.(message);
    };
    try {
      const name = `ready-${client.replace(/[^a-z]/g, '')}`;
      const progress: number[] = [];
      const result = await mcp.callTool(
        { name: 'provision_vm', arguments: { name, sshKeyFile: `${target.info.identityFile}.pub`, imageUrl: target.info.imageUrl, imageSha256: target.info.imageSha256, disk: 4 } },
        CallToolResultSchema,
        { onprogress: (note) => void progress.push(note.progress) },
      );
      const structured = result.structuredContent as Record<string, any>;
      expect(result.isError, JSON.stringify(structured)).toBeFalsy();
      expect(structured).toMatchObject({ ok: true, vm: { name, ip: expect.stringMatching(/^127\./), user: 'ubuntu' } });
      expect(target.simHost.listVms().find((vm) => vm.vmid === structured.vm.id)?.running).toBe(true);
      expect(target.simHost.vmConfig(structured.vm.id)).toMatchObject({ name, tags: expect.stringMatching(/linus/) });
      expect(sent).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual(sent.slice(0, progress.length));
    } finally {
      await mcp.close();
    }
  });
});
