import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Sources } from '../config/load.js';
import { parseNodeAddresses } from '../host/nodes.js';
import type { Connect } from '../host/run.js';
import { toLinusError } from '../protocol/errors.js';
import { loadProvisioner, packageVersion } from '../provisioners/bundle.js';
import { connectionPool, type ConnectionPool } from '../host/pool.js';
import { fleetTools } from './fleet-tools.js';
import { hostTools } from './host-tools.js';
import { provisionTools } from './provision.js';
import { errorResult } from './results.js';
import { TOOL_ANNOTATIONS, type CallContext, type McpTarget, type ToolContext, type ToolDef } from './tools.js';
import { vmTools } from './vm-tools.js';

// `linus mcp`: the tools over stdio (MCP, @modelcontextprotocol/sdk). Only protocol goes to the
// output; the log (one line per call, no arguments, so no secrets) goes to the caller's stderr.

export interface McpServerOptions {
  resolved: McpTarget;
  sources: Sources;
  readOnly: boolean;
  allowForeign: boolean;
  log(line: string): void;
  // ssh2 by default.
  connect?: Connect;
}

const INSTRUCTIONS =
  'Proxmox VE VMs through linus. provision_vm gives a ready VM (IP, user) in one call. A VM is named by ID or name. ' +
  "linus changes only VMs it created (tag 'linus'). Every result has ok; a failure has error.code, message and remediation.";

// A client (the SDK's, at least) handles a notification a microtask after a response read in the
// same chunk, and drops progress for a request it has answered by then: the answer leaves this
// long after the last progress, so that it is read apart from it.
const PROGRESS_GAP_MS = 100;

function toolsOf(context: ToolContext, readOnly: boolean): ToolDef[] {
  const tools = [...provisionTools(context), ...vmTools(context), ...hostTools(context), ...fleetTools(context)];
  return readOnly ? tools.filter((tool) => TOOL_ANNOTATIONS[tool.name].readOnlyHint) : tools;
}

// Runs one call; a read-only one is tried once more when the shared connection had dropped
// unnoticed (nothing it did can have changed the host).
async function runTool(tool: ToolDef, args: unknown, call: CallContext, log: (line: string) => void): Promise<CallToolResult> {
  const attempt = () => tool.run(args as never, call);
  try {
    try {
      return await attempt();
    } catch (error) {
      if (!TOOL_ANNOTATIONS[tool.name].readOnlyHint || toLinusError(error).code !== 'CONNECTION_FAILED') throw error;
      log(`${tool.name}: the connection had dropped; once more on a new one`);
      return await attempt();
    }
  } catch (error) {
    return errorResult(error, log);
  }
}

interface Built {
  server: McpServer;
  // Calls still running: the server waits for them (a cancelled provision's rollback) before it ends.
  running: Set<Promise<CallToolResult>>;
}

function buildServer(context: ToolContext, readOnly: boolean): Built {
  const server = new McpServer({ name: 'linus', version: packageVersion() }, { instructions: INSTRUCTIONS });
  const running = new Set<Promise<CallToolResult>>();
  for (const tool of toolsOf(context, readOnly)) {
    server.registerTool(tool.name, { description: tool.description, inputSchema: tool.input, outputSchema: tool.output, annotations: TOOL_ANNOTATIONS[tool.name] }, async (args, extra) => {
      const token = extra._meta?.progressToken;
      // Notifications go out in order, and all of them before the result: a client drops progress
      // that arrives after the answer to its request.
      let notified: Promise<unknown> = Promise.resolve();
      let lastProgressAt = 0;
      const notify = (progress: number, total: number, message: string) => {
        notified = notified
          .then(() => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token as string | number, progress, total, message } }))
          .then(() => (lastProgressAt = Date.now()))
          .catch(() => undefined);
      };
      const call: CallContext = {
        signal: extra.signal,
        ...(token === undefined ? {} : { progress: notify }),
        ...(server.server.getClientCapabilities()?.elicitation
          ? {
              ask: async (message: string) => {
                const answer = await server.server.elicitInput({ message, requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean', title: 'Yes, go ahead' } }, required: ['confirm'] } }, { signal: extra.signal });
                return answer.action === 'accept' && answer.content?.confirm === true;
              },
            }
          : {}),
      };
      const started = Date.now();
      const work = runTool(tool, args, call, context.log);
      running.add(work);
      try {
        const result = await work;
        await notified;
        const gap = lastProgressAt + PROGRESS_GAP_MS - Date.now();
        if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
        const error = (result.structuredContent as { error?: { code?: string } } | undefined)?.error;
        context.log(`${tool.name}: ${result.isError ? (error?.code ?? 'error') : 'ok'} in ${Date.now() - started} ms${extra.signal.aborted ? ' (the client cancelled the call)' : ''}`);
        return result;
      } finally {
        running.delete(work);
      }
    });
  }
  return { server, running };
}

export interface RunningServer {
  // Settles once the client is gone, the calls still running have ended and the connections are closed.
  done: Promise<void>;
  // Ends the session: running calls are cancelled (a provision rolls back) and awaited.
  close(): Promise<void>;
}

// Serves the tools on <input>/<output> (the process' stdin and stdout) until the input ends.
export async function startMcpServer(options: McpServerOptions, input: NodeJS.ReadableStream, output: { write(text: string): void }): Promise<RunningServer> {
  const pool: ConnectionPool = connectionPool(options.connect);
  const { resolved } = options;
  const context: ToolContext = {
    resolved,
    sources: options.sources,
    allowForeign: options.allowForeign,
    log: options.log,
    ops: { ssh: resolved.ssh, connect: pool.connect, remoteDir: resolved.target.remoteDir, nodeAddresses: parseNodeAddresses(resolved.target.nodeAddresses), provisioner: loadProvisioner('vm') },
  };
  const { server, running } = buildServer(context, options.readOnly);
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (output.write(chunk.toString()), done()) });
  // The transport reads with on/off/pause only, which every Node readable stream has.
  const transport = new StdioServerTransport(input as unknown as ConstructorParameters<typeof StdioServerTransport>[0], sink);
  // The SDK's stdio transport does not watch for the end of its input: a client that went away.
  input.once('end', () => void server.close());
  await server.connect(transport);
  const done = (async () => {
    await closed;
    await Promise.allSettled([...running]);
    await pool.close();
  })();
  return { done, close: () => server.close() };
}

// The tool list exactly as a client sees it (name, description, inputSchema and outputSchema as
// JSON schema, annotations), without a host: for the size measurement of `npm run bench`.
export async function registeredTools(options: { readOnly?: boolean } = {}): Promise<Tool[]> {
  const none = (): never => {
    throw new Error('no host: the tool list only');
  };
  const target = { host: 'localhost', port: 22, user: 'root', acceptNewHostKey: false, node: 'pve', storage: 'local-lvm', bridge: 'vmbr0', remoteDir: '/var/lib/linus', connectTimeout: 15 };
  const context: ToolContext = {
    resolved: { target, ssh: { host: 'localhost', port: 22, user: 'root', knownHostsFiles: [] }, specDefaults: () => ({}) },
    sources: { flags: {}, env: {} },
    allowForeign: false,
    log: () => undefined,
    ops: { ssh: { host: 'localhost', port: 22, user: 'root', knownHostsFiles: [] }, connect: none, remoteDir: target.remoteDir, nodeAddresses: {} },
  };
  const { server } = buildServer(context, Boolean(options.readOnly));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'linus-tool-list', version: packageVersion() });
  await server.connect(serverSide);
  await client.connect(clientSide);
  try {
    return (await client.listTools()).tools;
  } finally {
    await client.close();
    await server.close();
  }
}
