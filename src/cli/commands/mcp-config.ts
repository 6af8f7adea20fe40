import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { z } from 'zod';
import { resolveHostKeyPin } from '../../agents/host-key-pin.js';
import { linusServerConfig, type LinusServerConfig } from '../../agents/linus-server.js';
import {
  APPROVAL_PROFILES,
  defaultSshMcpConfigPath,
  MCP_CLIENTS,
  mcpConfig,
  SSH_MCP_VERSIONS,
  type McpConfig,
} from '../../agents/mcp-config.js';
import { writeMcpConfig } from '../../agents/write-config.js';
import { commandSources, hostGiven, parseSettings } from '../../config/load.js';
import { targetSchema, type Target } from '../../config/spec.js';
import { LinusError } from '../../protocol/errors.js';
import { knownHostsFiles } from '../../ssh/known-hosts.js';
import type { CliContext } from '../io.js';
import { TARGET_OPTIONS } from '../target-options.js';
import { describeOf, type FlagsOf } from './index.js';

const SERVERS = ['ssh-mcp', 'linus'] as const;

const builder = (yargs: Argv) =>
  yargs
    .group(['client', 'server', 'ssh-mcp', 'profile', 'server-name', 'read-only', 'allow-foreign', 'write', 'force'], 'MCP:')
    .group(['host', 'port', 'user', 'identity', 'known-hosts', 'host-key', 'config', 'host-profile'], 'Proxmox host:')
    .group(['node', 'storage', 'snippets-storage', 'bridge', 'node-address', 'remote-dir', 'connect-timeout'], 'With --server linus:')
    .options({
      client: { type: 'string', choices: MCP_CLIENTS, demandOption: true, describe: 'The MCP client to configure' },
      server: {
        type: 'string',
        choices: SERVERS,
        default: 'ssh-mcp',
        describe: "ssh-mcp: the agent runs 'linus agent-plan' steps through ssh-mcp's exec tool; linus: 'linus mcp', one tool call per ready VM",
      },
      'read-only': { type: 'boolean', describe: 'With --server linus: only the tools that read (list, get, capacity, leftovers)' },
      'allow-foreign': { type: 'boolean', describe: 'With --server linus: let the tools change VMs linus did not create' },
      node: TARGET_OPTIONS.node,
      storage: TARGET_OPTIONS.storage,
      'snippets-storage': TARGET_OPTIONS['snippets-storage'],
      bridge: TARGET_OPTIONS.bridge,
      'node-address': TARGET_OPTIONS['node-address'],
      'remote-dir': TARGET_OPTIONS['remote-dir'],
      'connect-timeout': TARGET_OPTIONS['connect-timeout'],
      'ssh-mcp': { type: 'string', choices: SSH_MCP_VERSIONS, default: 'v2', describe: 'ssh-mcp major version (v2 = 2.11.0, v1 = 1.5.0)' },
      profile: {
        type: 'string',
        choices: APPROVAL_PROFILES,
        default: 'production',
        describe: 'production: destructive commands wait for approval; dev: approvalPolicy auto (lab hosts only)',
      },
      'server-name': { type: 'string', describe: 'MCP server name (and ssh-mcp profile name) [default: proxmox, or linus with --server linus]' },
      write: { type: 'string', describe: 'Write DIR/ssh-mcp/config.toml (0700/0600) and the client file under DIR instead of printing' },
      force: { type: 'boolean', describe: 'With --write: replace an existing, different ssh-mcp config.toml' },
      host: TARGET_OPTIONS.host,
      port: TARGET_OPTIONS.port,
      user: TARGET_OPTIONS.user,
      identity: { type: 'string', describe: 'Private key ssh-mcp logs in with (else the SSH agent)' },
      'known-hosts': { type: 'string', describe: 'known_hosts file to take the pinned host key from [default: ~/.ssh/known_hosts]' },
      'host-key': { type: 'string', array: true, describe: 'Pin this host key instead: SHA256:... as ssh-keygen -l prints it' },
      config: TARGET_OPTIONS.config,
      // --profile here is the approval profile; the linus profile has its own flag.
      'host-profile': { type: 'string', describe: 'Profile of ~/.config/linus/config.yaml to take the host settings from (LINUS_PROFILE; else its defaultProfile)' },
    })
    .example('$0 mcp-config --client claude-code --host pve.lan --identity ~/.ssh/id_ed25519 --write .', 'ssh-mcp v2 for Claude Code in this project')
    .example('$0 mcp-config --client gemini --host pve.lan --host-key SHA256:... --profile dev', 'Print a Gemini CLI entry for a lab host')
    .example('$0 mcp-config --client claude-code --server linus --host pve.lan --identity ~/.ssh/id_ed25519 --write .', "'linus mcp' for Claude Code in this project");

type McpConfigFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

// Gemini CLI names tools mcp_<server>_<tool>: no underscore in the server name.
const serverNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'must be lowercase letters, digits and hyphens (at most 40)' });

// ssh-mcp reads the key itself; check here that it is the private half and exists.
function checkIdentity(file: string): string {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (cause) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `--identity ${absolute}: ${(cause as Error).message}`, remediation: 'Pass the path of your private key file.', cause });
  }
  if (!text.includes('PRIVATE KEY-----')) {
    throw new LinusError({
      code: 'CONFIG_INVALID',
      message: `--identity ${absolute} is not a private key file`,
      remediation: 'Pass the private key ssh-mcp logs in with (e.g. ~/.ssh/id_ed25519); its .pub belongs in root@host:~/.ssh/authorized_keys.',
    });
  }
  return absolute;
}

// The server name and the resolved target, checked the same way for both servers.
function common(argv: McpConfigFlags, env: NodeJS.ProcessEnv): { name: string; target: Target } {
  const sources = commandSources({ ...argv, profile: argv.hostProfile }, env);
  const name = serverNameSchema.safeParse(argv.serverName ?? (argv.server === 'linus' ? 'linus' : 'proxmox'));
  if (!name.success) throw new LinusError({ code: 'INVALID_SPEC', message: `--server-name: ${name.error.issues[0]?.message ?? 'invalid'}` });
  if (!hostGiven(sources)) {
    throw new LinusError({ code: 'INVALID_SPEC', message: '--host: is required', remediation: 'Pass --host, set LINUS_HOST, use --config or --host-profile.' });
  }
  return { name: name.data, target: parseSettings(targetSchema, sources) };
}

// The linus CLI script of this installation (dist/src/cli/main.js), which the client will start.
const CLI_SCRIPT = fileURLToPath(new URL('../main.js', import.meta.url));

function buildLinus(argv: McpConfigFlags, env: NodeJS.ProcessEnv): LinusServerConfig {
  const { name, target } = common(argv, env);
  const absolute = (file: string | undefined) => (file === undefined ? undefined : path.resolve(file));
  const identity = target.identity === undefined ? undefined : checkIdentity(target.identity);
  const knownHosts = absolute(target.knownHosts);
  return linusServerConfig({
    client: argv.client,
    name,
    target: { ...target, ...(identity ? { identity } : {}), ...(knownHosts ? { knownHosts } : {}) },
    node: process.execPath,
    cli: CLI_SCRIPT,
    readOnly: Boolean(argv.readOnly),
    allowForeign: Boolean(argv.allowForeign),
  });
}

function build(argv: McpConfigFlags, env: NodeJS.ProcessEnv): McpConfig {
  if (argv.readOnly || argv.allowForeign) {
    throw new LinusError({ code: 'INVALID_SPEC', message: '--read-only and --allow-foreign are settings of the linus server', remediation: 'Add --server linus, or leave them out.' });
  }
  const { name, target } = common(argv, env);
  const identity = target.identity === undefined ? undefined : checkIdentity(target.identity);
  if (argv.sshMcp === 'v1' && identity === undefined) {
    throw new LinusError({ code: 'INVALID_SPEC', message: '--identity: ssh-mcp v1 logs in only with a key file (or a password on its command line, which linus does not write)' });
  }
  const trustedHostKey =
    argv.sshMcp === 'v2'
      ? resolveHostKeyPin({
          host: target.host,
          port: target.port,
          ...(target.hostKey ? { hostKey: target.hostKey } : {}),
          knownHostsFiles: knownHostsFiles(target.knownHosts),
        })
      : undefined;
  const configPath = argv.write ? path.resolve(argv.write, 'ssh-mcp', 'config.toml') : defaultSshMcpConfigPath(env);
  return mcpConfig({
    client: argv.client,
    // yargs checked both against their choices.
    sshMcp: z.enum(SSH_MCP_VERSIONS).parse(argv.sshMcp),
    approval: z.enum(APPROVAL_PROFILES).parse(argv.profile),
    name,
    host: target.host,
    port: target.port,
    user: target.user,
    ...(identity ? { identity } : {}),
    ...(trustedHostKey ? { trustedHostKey } : {}),
    configPath,
  });
}

// What both servers print and write.
interface Generated {
  toml?: McpConfig['toml'];
  client: McpConfig['client'];
  notes: string[];
}

// The notes end both the printed and the --write output; indented notes continue the one above.
function noteLines(config: Generated): string[] {
  return config.notes.map((note) => (note.startsWith('  ') ? note : `- ${note}`));
}

function generate(argv: McpConfigFlags, env: NodeJS.ProcessEnv): Generated {
  if (argv.server === 'linus') {
    const config = buildLinus(argv, env);
    return { ...config, notes: [...config.notes, 'When to use linus mcp and when ssh-mcp plans: docs/agents.md.'] };
  }
  const config = build(argv, env);
  return { ...config, notes: [...config.notes, `The agent runs each step of 'linus agent-plan' with the ${config.tool} tool (${config.clientToolName}); see docs/agents.md.`] };
}

function printed(config: Generated): string {
  const out: string[] = [];
  if (config.toml) {
    const dir = path.dirname(config.toml.path);
    out.push(`==> ${config.toml.path}`, `# mkdir -p ${dir} && chmod 700 ${dir}; save the lines below as ${config.toml.path}; chmod 600 ${config.toml.path}`);
    out.push(config.toml.content);
  }
  out.push(`==> ${config.client.file}`, JSON.stringify(config.client.document, null, 2), '');
  out.push('==> notes', ...noteLines(config));
  return `${out.join('\n')}\n`;
}

function run(cli: CliContext, argv: McpConfigFlags): void {
  const config = generate(argv, cli.io.env);
  if (!argv.write) {
    cli.io.stdout.write(printed(config));
    return;
  }
  const written = writeMcpConfig(path.resolve(argv.write), config, Boolean(argv.force));
  const lines = written.map((file) => `wrote ${file.path}${file.mode ? ` (mode ${file.mode.toString(8)})` : ''}${file.merged ? ' (merged into the existing file)' : ''}`);
  lines.push(...noteLines(config));
  cli.io.stdout.write(`${lines.join('\n')}\n`);
}

export function mcpConfigCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'mcp-config', describe: describeOf('mcp-config'), builder, handler: (argv) => run(cli, argv) };
}
