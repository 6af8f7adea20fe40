import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema } from '../../../src/config/spec.js';
import { startMcpServer } from '../../../src/mcp/server.js';
import { createSimHost, type SimHost } from '../../../src/sim/host.js';
import { localConnect, localTarget } from '../../helpers/local-connection.js';

// A client whose process gets to read its stdin only every READ_EVERY_MS (a busy one): whatever
// the server wrote meanwhile arrives as one chunk, and the SDK's client handles the messages of a
// chunk as its stdio transport does.
const READ_EVERY_MS = 40;

function slowReader(input: PassThrough): { transport: Transport; output: { write(text: string): void } } {
  const buffer = new ReadBuffer();
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const transport: Transport = {
    start: async () => {
      timer = setInterval(() => {
        if (pending === '') return;
        buffer.append(Buffer.from(pending));
        pending = '';
        for (let message = buffer.readMessage(); message !== null; message = buffer.readMessage()) transport.onmessage?.(message);
      }, READ_EVERY_MS);
    },
    send: async (message: JSONRPCMessage) => void input.write(serializeMessage(message)),
    close: async () => {
      clearInterval(timer);
      input.end();
      transport.onclose?.();
    },
  };
  return { transport, output: { write: (text) => void (pending += text) } };
}

describe('linus mcp progress', () => {
  let host: SimHost;
  beforeAll(async () => {
    host = await createSimHost();
  });
  afterAll(async () => {
    await host.dispose();
    fs.rmSync(host.root, { recursive: true, force: true });
  });

  it('reaches a client that reads the last steps and the answer late, in one go', async () => {
    const input = new PassThrough();
    const { transport, output } = slowReader(input);
    const target = targetSchema.parse({ host: 'pve', node: 'pve', remoteDir: host.paths.remoteDir });
    const server = await startMcpServer(
      { resolved: { target, ssh: localTarget(), specDefaults: () => ({}) }, sources: { flags: {}, env: {} }, readOnly: false, allowForeign: false, log: () => undefined, connect: localConnect(host) },
      input,
      output,
    );
    const client = new Client({ name: 'slow-reader', version: '0' });
    await client.connect(transport);
    try {
      const progress: number[] = [];
      // A dry run: its three steps and its answer come within milliseconds of each other.
      const result = await client.callTool(
        { name: 'provision_vm', arguments: { name: 'slow-1', sshKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPS73NTWTe5CzzWcvDcYwF30o18Fdpk test', imageUrl: 'https://images.example/slow.qcow2', imageSha256: 'a'.repeat(64), dryRun: true } },
        CallToolResultSchema,
        { onprogress: (note) => void progress.push(note.progress) },
      );
      expect(result.isError, JSON.stringify(result.structuredContent)).toBeFalsy();
      expect(progress).toEqual([1, 2, 3]);
    } finally {
      await client.close();
      await server.done;
    }
  }, 30_000);
});
