import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadConfig } from 'ssh-mcp/build/config/loader.js';
import { PolicyEngine, resolvePolicyRules } from 'ssh-mcp/build/policy/engine.js';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveHostKeyPin } from '../../../src/agents/host-key-pin.js';
import { MCP_CLIENTS, mcpConfig, type McpConfigInput } from '../../../src/agents/mcp-config.js';
import { renderToml } from '../../../src/agents/toml.js';
import { writeMcpConfig } from '../../../src/agents/write-config.js';
import { fingerprint } from '../../../src/ssh/known-hosts.js';

const tempDirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-mcp-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function input(overrides: Partial<McpConfigInput> = {}): McpConfigInput {
  return {
    client: 'claude-code',
    sshMcp: 'v2',
    approval: 'production',
    name: 'proxmox',
    host: 'pve.lan',
    port: 2222,
    user: 'root',
    identity: '/home/me/.ssh/id_ed25519',
    trustedHostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    configPath: '/home/me/.config/ssh-mcp/config.toml',
    ...overrides,
  };
}

function keyPair(dir: string, type: 'ed25519' | 'ecdsa' | 'rsa'): Buffer {
  const file = fs.mkdtempSync(path.join(dir, `host_${type}-`)) + '/key';
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', file]);
  return Buffer.from(fs.readFileSync(`${file}.pub`, 'utf8').split(' ')[1]!, 'base64');
}

describe('TOML writer', () => {
  it('round-trips awkward strings, integers and booleans through a real TOML parser', () => {
    const awkward = ['plain', 'a "quoted" \\ back\\slash', 'line\nbreak\ttab\rcr', 'ünïcödé ☃', '\u0001\u001f\u007f', "it's", '# not a comment', ''];
    const text = renderToml(
      [
        { name: 'defaults', comment: 'first\nsecond', entries: awkward.map((value, index) => ({ key: `s${index}`, value, comment: `value ${index}` })) },
        { name: 'profiles', array: true, entries: [{ key: 'port', value: 22 }, { key: 'tty', value: false }] },
        { name: 'profiles', array: true, entries: [{ key: 'port', value: 2222 }, { key: 'tty', value: true }] },
      ],
      'header',
    );
    const parsed = parseToml(text) as { defaults: Record<string, string>; profiles: Array<{ port: number; tty: boolean }> };
    expect(Object.values(parsed.defaults)).toEqual(awkward);
    expect(parsed.profiles).toEqual([{ port: 22, tty: false }, { port: 2222, tty: true }]);
  });

  it('refuses keys and numbers it cannot write faithfully', () => {
    expect(() => renderToml([{ name: 'a b', entries: [] }])).toThrow(/bare key/);
    expect(() => renderToml([{ name: 'x', entries: [{ key: 'n', value: 1.5 }] }])).toThrow(/safe integer/);
  });
});

describe('mcp client configs', () => {
  it.each(MCP_CLIENTS)('%s: v2 runs ssh-mcp@2.11.0 with the config file and names the run-command tool', (client) => {
    const config = mcpConfig(input({ client }));
    expect(config.tool).toBe('run-command');
    const document = JSON.parse(JSON.stringify(config.client.document));
    const entry = document.mcpServers.proxmox;
    expect(entry.command).toBe('npx');
    expect(entry.args).toEqual(['-y', 'ssh-mcp@2.11.0', '--config=/home/me/.config/ssh-mcp/config.toml', '--hostKeyMode=strict']);
    expect(config.clientToolName).toBe(client === 'gemini' ? 'mcp_proxmox_run-command' : 'mcp__proxmox__run-command');
    if (client === 'gemini') {
      expect(entry.timeout).toBeGreaterThanOrEqual(120_000);
      expect(entry.env).toEqual({ SSH_AUTH_SOCK: '$SSH_AUTH_SOCK' });
      expect(entry.trust).toBe(false);
      expect(config.client.file).toBe(path.join('.gemini', 'settings.json'));
    } else {
      expect(config.client.file).toBe(client === 'claude-code' ? '.mcp.json' : 'claude_desktop_config.json');
    }
    expect(parseToml(config.toml!.content)).toMatchObject({ profiles: [{ name: 'proxmox', host: 'pve.lan', port: 2222, user: 'root' }] });
  });

  it.each(MCP_CLIENTS)('%s: v1 runs ssh-mcp@1.5.0 with --timeout=120000 --maxChars=none and names the exec tool', (client) => {
    const config = mcpConfig(input({ client, sshMcp: 'v1' }));
    expect(config.tool).toBe('exec');
    expect(config.toml).toBeUndefined();
    const entry = JSON.parse(JSON.stringify(config.client.document)).mcpServers.proxmox;
    expect(entry.args).toEqual(['-y', 'ssh-mcp@1.5.0', '--host=pve.lan', '--port=2222', '--user=root', '--key=/home/me/.ssh/id_ed25519', '--timeout=120000', '--maxChars=none']);
    expect(config.notes.join('\n')).toMatch(/does NOT verify the host key/);
  });

  it('writes a config ssh-mcp 2.11 itself loads (0700 folder, 0600 file), with the pin, the key and the limits the plan assumes', async () => {
    const dir = tempDir();
    const configPath = path.join(dir, 'ssh-mcp', 'config.toml');
    const written = writeMcpConfig(dir, mcpConfig(input({ configPath })), false);
    expect(written.map((file) => file.path)).toEqual([configPath, path.join(dir, '.mcp.json')]);
    expect(fs.statSync(configPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(configPath)).mode & 0o777).toBe(0o700);
    const loaded = await loadConfig(configPath);
    expect(loaded.profiles).toHaveLength(1);
    expect(loaded.profiles[0]).toMatchObject({
      name: 'proxmox',
      host: 'pve.lan',
      port: 2222,
      user: 'root',
      auth: 'key',
      keyRef: '/home/me/.ssh/id_ed25519',
      trustedHostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      maxChars: 5000,
      timeout: 60_000,
    });
    // Without a key file, the agent; ssh-mcp's schema is strict, so this also proves no stray key.
    const agentDir = tempDir();
    writeMcpConfig(agentDir, mcpConfig(input({ configPath: path.join(agentDir, 'ssh-mcp', 'config.toml'), identity: undefined })), false);
    expect((await loadConfig(path.join(agentDir, 'ssh-mcp', 'config.toml'))).profiles[0]).toMatchObject({ auth: 'agent' });
  });

  it('production asks before destructive commands and refuses sudo; dev approves everything; plan steps need no approval in either', async () => {
    const plainStep = '{ f=/var/lib/linus/provisioners/p.sh; bash "$f" wait r1 --max-seconds 45; } 2>&1';
    const decisions: Record<string, Record<string, string>> = {};
    for (const approval of ['production', 'dev'] as const) {
      const dir = tempDir();
      const configPath = path.join(dir, 'ssh-mcp', 'config.toml');
      writeMcpConfig(dir, mcpConfig(input({ approval, configPath })), false);
      const { profiles } = await loadConfig(configPath);
      const engine = new PolicyEngine(resolvePolicyRules(profiles));
      const decide = (command: string) => engine.evaluate(command, profiles[0]!, 'run-command').decision;
      decisions[approval] = { step: decide(plainStep), destructive: decide('rm -rf /tmp/build'), piped: decide('cat x.sh | bash'), sudo: decide('sudo id') };
    }
    expect(decisions).toEqual({
      production: { step: 'allow', destructive: 'require-approval', piped: 'require-approval', sudo: 'deny' },
      dev: { step: 'allow', destructive: 'allow', piped: 'allow', sudo: 'deny' },
    });
  });

  it('merges into an existing client file, and will not silently replace another ssh-mcp config', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'x' } }, extra: 1 }));
    const config = mcpConfig(input({ configPath: path.join(dir, 'ssh-mcp', 'config.toml') }));
    expect(writeMcpConfig(dir, config, false)[1]).toMatchObject({ merged: true });
    const merged = JSON.parse(fs.readFileSync(path.join(dir, '.mcp.json'), 'utf8'));
    expect(Object.keys(merged.mcpServers)).toEqual(['other', 'proxmox']);
    expect(merged.extra).toBe(1);
    // The same config again is fine; a different one needs --force.
    expect(() => writeMcpConfig(dir, config, false)).not.toThrow();
    const other = mcpConfig(input({ host: 'pve2.lan', configPath: path.join(dir, 'ssh-mcp', 'config.toml') }));
    expect(() => writeMcpConfig(dir, other, false)).toThrow(/holds another ssh-mcp configuration/);
    writeMcpConfig(dir, other, true);
    expect(parseToml(fs.readFileSync(path.join(dir, 'ssh-mcp', 'config.toml'), 'utf8'))).toMatchObject({ profiles: [{ host: 'pve2.lan' }] });
    fs.writeFileSync(path.join(dir, '.mcp.json'), '{ not json');
    expect(() => writeMcpConfig(dir, other, true)).toThrow(/not valid JSON/);
  });
});

describe('host key pin', () => {
  it('pins the known_hosts key ssh-mcp negotiates first (ed25519), for the [host]:port entry', () => {
    const dir = tempDir();
    const rsa = keyPair(dir, 'rsa');
    const ecdsa = keyPair(dir, 'ecdsa');
    const ed25519 = keyPair(dir, 'ed25519');
    const other = keyPair(dir, 'ed25519');
    const line = (host: string, type: string, blob: Buffer) => `${host} ${type} ${blob.toString('base64')}`;
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(
      knownHosts,
      [line('pve.lan', 'ssh-ed25519', other), line('[pve.lan]:2222', 'ssh-rsa', rsa), line('[pve.lan]:2222', 'ecdsa-sha2-nistp256', ecdsa), line('[pve.lan]:2222', 'ssh-ed25519', ed25519)].join('\n'),
    );
    expect(resolveHostKeyPin({ host: 'pve.lan', port: 2222, knownHostsFiles: [knownHosts] })).toBe(fingerprint(ed25519));
    expect(resolveHostKeyPin({ host: 'pve.lan', port: 22, knownHostsFiles: [knownHosts] })).toBe(fingerprint(other));
    fs.writeFileSync(knownHosts, line('[pve.lan]:2222', 'ssh-rsa', rsa));
    expect(resolveHostKeyPin({ host: 'pve.lan', port: 2222, knownHostsFiles: [knownHosts] })).toBe(fingerprint(rsa));
  });

  it('refuses to guess: an unknown host, or more than one --host-key', () => {
    expect(() => resolveHostKeyPin({ host: 'nowhere.lan', port: 22, knownHostsFiles: [path.join(tempDir(), 'none')] })).toThrow(
      expect.objectContaining({ code: 'HOST_KEY_UNKNOWN' }),
    );
    const pin = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect(resolveHostKeyPin({ host: 'x', port: 22, hostKey: [pin], knownHostsFiles: [] })).toBe(pin);
    expect(() => resolveHostKeyPin({ host: 'x', port: 22, hostKey: [pin, pin], knownHostsFiles: [] })).toThrow(/exactly one host key/);
  });
});
