import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { CLI, type Target } from './driver.js';

export interface McpSession {
  client: Client;
  // What the server wrote to stderr so far (its log).
  stderr(): string;
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  // A tool call; its structured content and isError.
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult & { structuredContent: Record<string, any> }>;
  close(): Promise<void>;
}

export interface McpOptions {
  // The client declares elicitation and answers every request with this.
  elicit?: (message: string) => ElicitResult;
  // More environment for the server (e.g. HOME and XDG_CONFIG_HOME of a test's own).
  env?: Record<string, string>;
}

// `linus mcp <args>` as an MCP client starts it: a child process on stdio (the SDK's own transport).
export async function startMcp(args: string[], options: McpOptions = {}): Promise<McpSession> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', ...args], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'linus-test', version: '0' }, options.elicit ? { capabilities: { elicitation: {} } } : {});
  const elicit = options.elicit;
  if (elicit) client.setRequestHandler(ElicitRequestSchema, async (request) => elicit(request.params.message));
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    waitForStderr: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`the server's stderr never matched ${pattern}:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent: Record<string, any> },
    close: () => client.close(),
  };
}

// The simulated host as a tool could change it: every VM (config, power) and volume.
export function hostState(target: Target): string {
  // vmConfig, not listVms' config: it has the description too.
  const vms = target.simHost
    .listVms()
    .sort((a, b) => a.vmid - b.vmid)
    .map((vm) => ({ ...vm, config: target.simHost.vmConfig(vm.vmid) }));
  const volumes = target.simHost.volumes().sort((a, b) => a.volid.localeCompare(b.volid));
  return JSON.stringify({ vms, volumes });
}
