import { describe, expect, it } from 'vitest';
import { linusServerConfig, targetFlags, type LinusServerInput } from '../../../src/agents/linus-server.js';
import { targetSchema } from '../../../src/config/spec.js';

const input = (overrides: Partial<LinusServerInput> = {}): LinusServerInput => ({
  client: 'claude-code',
  name: 'linus',
  target: targetSchema.parse({ host: 'pve.lan' }),
  node: '/usr/bin/node',
  cli: '/opt/linus/dist/src/cli/main.js',
  readOnly: false,
  allowForeign: false,
  ...overrides,
});

describe('linus mcp-config --server linus', () => {
  it('spells out every setting that is not a default, and nothing secret', () => {
    const target = targetSchema.parse({
      host: 'pve.lan',
      port: 2222,
      user: 'linus',
      identity: '/k/id',
      knownHosts: '/k/known',
      hostKey: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'],
      node: 'pve2',
      storage: 'tank',
      bridge: 'vmbr1',
      nodeAddresses: 'pve3=10.0.0.3',
      remoteDir: '/srv/linus',
      connectTimeout: 30,
    });
    expect(targetFlags(target)).toEqual([
      '--host', 'pve.lan', '--port', '2222', '--user', 'linus', '--identity', '/k/id', '--known-hosts', '/k/known',
      '--host-key', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', '--connect-timeout', '30', '--node', 'pve2', '--storage', 'tank',
      '--bridge', 'vmbr1', '--node-address', 'pve3=10.0.0.3', '--remote-dir', '/srv/linus',
    ]);
    expect(targetFlags(targetSchema.parse({ host: 'pve.lan' }))).toEqual(['--host', 'pve.lan']);
  });

  it('starts linus mcp with the absolute node and CLI paths; --read-only and --allow-foreign pass through', () => {
    const { client } = linusServerConfig(input({ readOnly: true, allowForeign: true }));
    expect(client.file).toBe('.mcp.json');
    expect(client.document.mcpServers.linus).toEqual({
      type: 'stdio',
      command: '/usr/bin/node',
      args: ['/opt/linus/dist/src/cli/main.js', 'mcp', '--host', 'pve.lan', '--read-only', '--allow-foreign'],
    });
  });

  it('gives Gemini CLI a timeout above the slowest provision, and the agent socket only without a key file', () => {
    const agent = linusServerConfig(input({ client: 'gemini' })).client.entry;
    expect(agent).toMatchObject({ timeout: 1_800_000, trust: false, env: { SSH_AUTH_SOCK: '$SSH_AUTH_SOCK' } });
    const keyed = linusServerConfig(input({ client: 'gemini', target: targetSchema.parse({ host: 'pve.lan', identity: '/k/id' }) })).client.entry;
    expect(keyed.env).toBeUndefined();
    expect(linusServerConfig(input({ client: 'claude-desktop' })).client).toMatchObject({ file: 'claude_desktop_config.json', entry: { command: '/usr/bin/node' } });
  });

  it("names the client's tool names and the command line for claude mcp add", () => {
    const notes = linusServerConfig(input()).notes.join('\n');
    expect(notes).toContain('claude mcp add --scope project linus -- /usr/bin/node /opt/linus/dist/src/cli/main.js mcp --host pve.lan');
    expect(notes).toContain('mcp__linus__provision_vm');
    expect(linusServerConfig(input({ client: 'gemini' })).notes.join('\n')).toContain('mcp_linus_provision_vm');
  });
});
