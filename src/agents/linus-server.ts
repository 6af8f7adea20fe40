import type { Target } from '../config/spec.js';
import { CLIENT_FILES, clientEntry, commandLineOf, type McpClient, type ServerEntry } from './mcp-config.js';

// A provision is an image download (minutes on a slow mirror the first time), a boot and
// cloud-init: Gemini CLI's tool-call limit must cover the slowest one with room to spare.
export const LINUS_CLIENT_TIMEOUT_MS = 1_800_000;

export interface LinusServerInput {
  client: McpClient;
  // The MCP server name.
  name: string;
  target: Target;
  // Absolute paths of the node binary and of linus' CLI script that the client starts.
  node: string;
  cli: string;
  readOnly: boolean;
  allowForeign: boolean;
}

export interface LinusServerConfig {
  client: { file: string; entry: ServerEntry; document: { mcpServers: Record<string, ServerEntry> } };
  notes: string[];
}

// The target as `linus mcp` flags: the client starts the server without the environment or the
// working directory the user ran mcp-config in, so every setting is spelled out. Defaults are left
// out; no secret is ever written (a password comes from LINUS_SSH_PASSWORD in the client's env).
export function targetFlags(target: Target): string[] {
  const flags: string[] = ['--host', target.host];
  const add = (flag: string, value: string | number | undefined, fallback?: string | number) => {
    if (value !== undefined && value !== fallback) flags.push(flag, String(value));
  };
  add('--port', target.port, 22);
  add('--user', target.user, 'root');
  add('--identity', target.identity);
  add('--known-hosts', target.knownHosts);
  for (const key of target.hostKey ?? []) flags.push('--host-key', key);
  add('--connect-timeout', target.connectTimeout, 15);
  add('--node', target.node, 'pve');
  add('--storage', target.storage, 'local-lvm');
  add('--snippets-storage', target.snippetsStorage);
  add('--bridge', target.bridge, 'vmbr0');
  for (const address of target.nodeAddresses ?? []) flags.push('--node-address', address);
  add('--remote-dir', target.remoteDir, '/var/lib/linus');
  return flags;
}

function entryOf(input: LinusServerInput): ServerEntry {
  const args = [input.cli, 'mcp', ...targetFlags(input.target), ...(input.readOnly ? ['--read-only'] : []), ...(input.allowForeign ? ['--allow-foreign'] : [])];
  // Gemini CLI scrubs SSH_AUTH_SOCK from a server's environment (its name holds AUTH): without a
  // key file, linus logs in through the agent and needs it passed on by name.
  const env = input.target.identity ? undefined : { SSH_AUTH_SOCK: '$SSH_AUTH_SOCK' };
  return clientEntry(input.client, { command: input.node, args }, { ...(env ? { env } : {}), timeout: LINUS_CLIENT_TIMEOUT_MS });
}

function notesOf(input: LinusServerInput, file: string, entry: ServerEntry): string[] {
  const tools = input.client === 'gemini' ? `mcp_${input.name}_provision_vm, ...` : `mcp__${input.name}__provision_vm, ...`;
  const common = [
    `The server runs 'linus mcp' on this machine and reaches ${input.target.user}@${input.target.host} over SSH with the host key in known_hosts (verified, never trusted blindly).`,
    `Tools: ${tools}${input.readOnly ? ' (read-only: list, get, capacity and leftovers only)' : ''}. One provision_vm call returns a ready VM and reports each host step as progress.`,
    `It starts ${input.node} ${input.cli}: after moving or reinstalling linus, run mcp-config again.`,
  ];
  switch (input.client) {
    case 'claude-code':
      return [
        `Claude Code: put ${file} in the project root (add the "${input.name}" entry if the file exists), or run:`,
        `  claude mcp add --scope project ${input.name} -- ${commandLineOf(entry)}`,
        'Progress resets Claude Code\'s idle timeout; a provision over 2 minutes goes on in the background. delete_vm asks you to confirm (elicitation).',
        ...common,
      ];
    case 'claude-desktop':
      return [
        `Claude Desktop: add this "${input.name}" entry to Claude Desktop's own ${file}`,
        '  (macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), then restart Claude Desktop.',
        ...(input.target.identity ? [] : ['Claude Desktop does not pass SSH_AUTH_SOCK on reliably: prefer --identity for this client.']),
        ...common,
      ];
    case 'gemini':
      return [
        `Gemini CLI: put ${file} in the project (or merge the "${input.name}" entry into ~/.gemini/settings.json);`,
        '  stdio servers start only in a trusted folder (gemini trust).',
        `The tool-call timeout is ${LINUS_CLIENT_TIMEOUT_MS / 60_000} minutes, above the slowest provision. Gemini CLI cannot answer elicitation: delete_vm then needs confirm set to the VM's name.`,
        ...common,
      ];
  }
}

export function linusServerConfig(input: LinusServerInput): LinusServerConfig {
  const file = CLIENT_FILES[input.client];
  const entry = entryOf(input);
  return { client: { file, entry, document: { mcpServers: { [input.name]: entry } } }, notes: notesOf(input, file, entry) };
}
