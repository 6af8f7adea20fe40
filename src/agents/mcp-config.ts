import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_CHARS } from './plan.js';
import { WAIT_SECONDS } from './job-steps.js';
import { renderToml, type TomlTable } from './toml.js';

export const MCP_CLIENTS = ['claude-code', 'claude-desktop', 'gemini'] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];
export const SSH_MCP_VERSIONS = ['v2', 'v1'] as const;
export type SshMcpVersion = (typeof SSH_MCP_VERSIONS)[number];
export const APPROVAL_PROFILES = ['production', 'dev'] as const;
export type ApprovalProfile = (typeof APPROVAL_PROFILES)[number];

// Pinned: these are the versions whose limits, tool names and classifier linus is tested against.
export const SSH_MCP_PACKAGES: Record<SshMcpVersion, string> = { v2: 'ssh-mcp@2.11.0', v1: 'ssh-mcp@1.5.0' };
export const SSH_MCP_TOOLS: Record<SshMcpVersion, string> = { v2: 'run-command', v1: 'exec' };
export const CLIENT_FILES: Record<McpClient, string> = {
  'claude-code': '.mcp.json',
  'claude-desktop': 'claude_desktop_config.json',
  gemini: path.join('.gemini', 'settings.json'),
};
// ssh-mcp's own command timeout (v2 default); linus' wait step returns well within it.
export const COMMAND_TIMEOUT_MS = 60_000;
// What the client waits for one tool call: above ssh-mcp's own timeout, so that one speaks first.
export const CLIENT_TIMEOUT_MS = 120_000;

export interface McpConfigInput {
  client: McpClient;
  sshMcp: SshMcpVersion;
  approval: ApprovalProfile;
  // The MCP server name and the ssh-mcp profile name.
  name: string;
  host: string;
  port: number;
  user: string;
  // Absolute path of the private key ssh-mcp uses; without it, the SSH agent (SSH_AUTH_SOCK).
  identity?: string;
  // SHA256:... (v2 only: v1 does not verify host keys).
  trustedHostKey?: string;
  // Absolute path the v2 config.toml will live at.
  configPath: string;
}

export interface ServerEntry {
  type?: 'stdio';
  command: string;
  args: string[];
  env?: Record<string, string>;
  timeout?: number;
  trust?: boolean;
}

export interface McpConfig {
  tool: string;
  // What the model calls the tool in this client.
  clientToolName: string;
  toml?: { path: string; content: string };
  client: { file: string; entry: ServerEntry; document: { mcpServers: Record<string, ServerEntry> } };
  notes: string[];
}

// Where ssh-mcp v2 looks for its config when not given --config (build/config/loader.js).
export function defaultSshMcpConfigPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'ssh-mcp', 'config.toml');
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'ssh-mcp', 'config.toml');
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'ssh-mcp', 'config.toml');
}

const APPROVAL: Record<ApprovalProfile, { group: string; role: string; approvalPolicy: string; comment: string }> = {
  production: {
    group: 'prod',
    role: 'admin',
    approvalPolicy: 'ask-destructive',
    comment:
      'production: commands ssh-mcp classifies destructive (rm -rf <path>, programs piped into an interpreter, ...)\n' +
      'wait for your approval in the client; sudo is refused. linus agent-plan steps classify as safe and need none.\n' +
      'For a prompt on every command, set approvalPolicy = "ask-all" (and approvalGrantTtlMs in [defaults]).',
  },
  dev: {
    group: 'dev',
    role: 'operator',
    approvalPolicy: 'auto',
    comment: 'dev: nothing waits for approval. Only for a lab host you can rebuild; never for production.',
  },
};

function sshMcpToml(input: McpConfigInput): string {
  const approval = APPROVAL[input.approval];
  const tables: TomlTable[] = [
    {
      name: 'defaults',
      entries: [
        { key: 'defaultProfile', value: input.name },
        { key: 'approvalMode', value: 'ask-destructive', comment: 'Profiles without their own approvalPolicy prompt for destructive commands.' },
        { key: 'commandTimeoutMs', value: COMMAND_TIMEOUT_MS, comment: `linus' wait step returns within ${WAIT_SECONDS} s, well inside this.` },
        { key: 'commandMaxChars', value: DEFAULT_MAX_CHARS, comment: 'linus agent-plan --max-chars must not exceed this (its default is the same).' },
      ],
    },
    {
      name: 'profiles',
      array: true,
      entries: [
        { key: 'name', value: input.name },
        { key: 'host', value: input.host },
        { key: 'port', value: input.port },
        { key: 'user', value: input.user, comment: 'The Proxmox tools (qm, pvesh) need root; see docs/agents.md.' },
        ...(input.identity
          ? [
              { key: 'auth', value: 'key', comment: 'A passphrase-protected key reads its passphrase from SSH_MCP_PASSPHRASE.' },
              { key: 'keyRef', value: input.identity },
            ]
          : [{ key: 'auth', value: 'agent', comment: 'The key comes from the SSH agent (SSH_AUTH_SOCK).' }]),
        ...(input.trustedHostKey
          ? [{ key: 'trustedHostKey', value: input.trustedHostKey, comment: 'Pinned: any other host key is refused, whatever the host key mode.' }]
          : []),
        { key: 'group', value: approval.group, comment: approval.comment },
        { key: 'role', value: approval.role },
        { key: 'approvalPolicy', value: approval.approvalPolicy },
      ],
    },
  ];
  const dir = path.dirname(input.configPath);
  return renderToml(
    tables,
    `ssh-mcp v2 configuration written by 'linus mcp-config' (${input.approval} profile).\n` +
      `ssh-mcp refuses to start unless the folder is 0700 and this file 0600:\n  chmod 700 ${dir} && chmod 600 ${input.configPath}`,
  );
}

function serverEntry(input: McpConfigInput): ServerEntry {
  const args =
    input.sshMcp === 'v2'
      ? ['-y', SSH_MCP_PACKAGES.v2, `--config=${input.configPath}`]
      : [
          '-y',
          SSH_MCP_PACKAGES.v1,
          `--host=${input.host}`,
          `--port=${input.port}`,
          `--user=${input.user}`,
          `--key=${input.identity ?? ''}`,
          `--timeout=${CLIENT_TIMEOUT_MS}`,
          '--maxChars=none',
        ];
  if (input.sshMcp === 'v2' && input.trustedHostKey) args.push('--hostKeyMode=strict');
  // Gemini CLI scrubs variables whose names hold AUTH, KEY, TOKEN, ... from the server's
  // environment: the agent socket must be passed on by name.
  return clientEntry(input.client, { command: 'npx', args }, { env: { SSH_AUTH_SOCK: '$SSH_AUTH_SOCK' }, timeout: CLIENT_TIMEOUT_MS });
}

// A stdio server entry in the shape each client's file takes; Gemini CLI also gets its own
// environment and tool-call timeout, and asks before each call (trust: false).
export function clientEntry(client: McpClient, base: { command: string; args: string[] }, gemini: { env?: Record<string, string>; timeout: number }): ServerEntry {
  switch (client) {
    case 'claude-code':
      return { type: 'stdio', ...base };
    case 'claude-desktop':
      return base;
    case 'gemini':
      return { ...base, ...(gemini.env ? { env: gemini.env } : {}), timeout: gemini.timeout, trust: false };
  }
}

// The entry's command as a shell line (for `claude mcp add ... -- <line>`).
export function commandLineOf(entry: ServerEntry): string {
  return [entry.command, ...entry.args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function clientNotes(input: McpConfigInput, file: string, entry: ServerEntry): string[] {
  const commandLine = commandLineOf(entry);
  switch (input.client) {
    case 'claude-code':
      return [
        `Claude Code: put ${file} in the project root (add the "${input.name}" entry if the file exists), or run:`,
        `  claude mcp add --scope project ${input.name} -- ${commandLine}`,
        'Claude Code asks once before it starts a project server, and shows ssh-mcp approval prompts (elicitation) in its UI.',
      ];
    case 'claude-desktop':
      return [
        `Claude Desktop: add this "${input.name}" entry to Claude Desktop's own ${file}`,
        '  (macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), then restart Claude Desktop.',
        'Claude Desktop may not find npx on its PATH: if the server does not start, replace "npx" with the output of `which npx`.',
        ...(input.identity ? [] : ['Claude Desktop does not pass SSH_AUTH_SOCK on reliably: prefer --identity for this client.']),
      ];
    case 'gemini':
      return [
        `Gemini CLI: put ${file} in the project (or merge the "${input.name}" entry into ~/.gemini/settings.json);`,
        '  stdio servers start only in a trusted folder (gemini trust). The tool is called mcp_' + input.name + '_' + SSH_MCP_TOOLS[input.sshMcp] + '.',
        `Gemini CLI cannot answer ssh-mcp approval prompts: under the production profile destructive commands are refused`,
        '  (APPROVAL_UNAVAILABLE). linus agent-plan steps do not need approval.',
      ];
  }
}

export function mcpConfig(input: McpConfigInput): McpConfig {
  const file = CLIENT_FILES[input.client];
  const entry = serverEntry(input);
  const tool = SSH_MCP_TOOLS[input.sshMcp];
  const notes: string[] = [];
  let toml: McpConfig['toml'];
  if (input.sshMcp === 'v2') {
    toml = { path: input.configPath, content: sshMcpToml(input) };
    notes.push(
      input.identity
        ? `Authentication: the key ${input.identity}. If it has a passphrase, add SSH_MCP_PASSPHRASE to the server entry's "env", or leave out --identity to use the SSH agent.`
        : 'Authentication: the SSH agent (ssh-add your key first; SSH_AUTH_SOCK must reach ssh-mcp).',
    );
  } else {
    notes.push(
      'ssh-mcp v1 does NOT verify the host key and has no approval gate: use it only if you must; v2 is the default.',
      'ssh-mcp v1 tool: exec. Any output on stderr fails the call and drops stdout, and exit statuses are lost: linus steps merge stderr (2>&1) and print their status.',
    );
  }
  notes.push(...clientNotes(input, file, entry));
  const clientToolName = input.client === 'gemini' ? `mcp_${input.name}_${tool}` : `mcp__${input.name}__${tool}`;
  return { tool, clientToolName, ...(toml ? { toml } : {}), client: { file, entry, document: { mcpServers: { [input.name]: entry } } }, notes };
}
