import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTarget, type Target } from '../helpers/driver.js';
import { describeWithSshd } from '../helpers/require-sshd.js';
import { followPlan, type JsonPlan, type StepOutput } from './follow-plan.js';

// The installed ssh-mcp 2.11.0, started as its bin would be: no npx, no network.
const require = createRequire(import.meta.url);
const SSH_MCP_DIR = path.dirname(require.resolve('ssh-mcp/package.json'));
const SSH_MCP_PACKAGE = JSON.parse(fs.readFileSync(path.join(SSH_MCP_DIR, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const SSH_MCP_BIN = path.join(SSH_MCP_DIR, SSH_MCP_PACKAGE.bin['ssh-mcp']!);
const CALL_TIMEOUT_MS = 120_000;
// A provision through ssh-mcp takes 10-15 s here; leave room for a slow CI machine.
const PROVISION_TEST_MS = 240_000;

interface SshMcp {
  call(command: string): Promise<StepOutput>;
  elicitations: string[];
  stderr(): string;
  close(): Promise<void>;
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): StepOutput {
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return { text: content.map((part) => part.text ?? '').join(''), isError: result.isError === true };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeWithSshd('an agent provisions through the real ssh-mcp 2.11 and a real OpenSSH sshd', () => {
  let target: Target;
  let home: string;
  const servers: SshMcp[] = [];

  beforeAll(async () => {
    expect(SSH_MCP_PACKAGE.version).toBe('2.11.0');
    // A guest that takes a few seconds to boot, so the job is still running right after start.
    target = await startTarget({ sshd: true }, { bootDelayMs: 4000 });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-agent-home-'));
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await target?.dispose();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  // `linus mcp-config --write`, then ssh-mcp started exactly as the written client entry says,
  // with HOME and XDG inside a temporary directory.
  async function startSshMcp(profile: 'production' | 'dev'): Promise<SshMcp> {
    const { info } = target;
    const dir = path.join(home, profile);
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'), XDG_STATE_HOME: path.join(home, '.local', 'state') };
    const written = await runCli(
      ['mcp-config', '--client', 'claude-code', '--profile', profile, '--host', info.host, '--port', String(info.port), '--user', info.user,
        '--identity', info.identityFile, '--known-hosts', info.knownHostsFile, '--write', dir],
      env,
    );
    expect(written.code, written.stderr).toBe(0);
    const entry = JSON.parse(fs.readFileSync(path.join(dir, '.mcp.json'), 'utf8')).mcpServers.proxmox as { type: string; command: string; args: string[] };
    expect(entry).toMatchObject({ type: 'stdio', command: 'npx' });
    expect(entry.args.slice(0, 2)).toEqual(['-y', 'ssh-mcp@2.11.0']);
    const config = parseToml(fs.readFileSync(path.join(dir, 'ssh-mcp', 'config.toml'), 'utf8')) as { profiles: Array<{ trustedHostKey: string; approvalPolicy: string }> };
    expect(config.profiles[0]).toMatchObject({ trustedHostKey: info.hostKeyFingerprint, approvalPolicy: profile === 'dev' ? 'auto' : 'ask-destructive' });

    const transport = new StdioClientTransport({ command: process.execPath, args: [SSH_MCP_BIN, ...entry.args.slice(2)], env: { ...env, PATH: process.env.PATH ?? '' }, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'linus-e2e', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const elicitations: string[] = [];
    // Approval prompts are recorded and granted: a plan step that needed one would show here.
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push(request.params.message);
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(transport);
    const pid = transport.pid;
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain('run-command');
    expect(tools).not.toContain('exec');
    const server: SshMcp = {
      call: async (command) => textOf(await client.callTool({ name: 'run-command', arguments: { command } }, undefined, { timeout: CALL_TIMEOUT_MS })),
      elicitations,
      stderr: () => stderr,
      close: async () => {
        await client.close();
        const deadline = Date.now() + 5000;
        while (pid !== null && isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        if (pid !== null && isAlive(pid)) throw new Error(`ssh-mcp (pid ${pid}) did not exit`);
      },
    };
    servers.push(server);
    return server;
  }

  async function plan(name: string, extra: string[] = []): Promise<JsonPlan> {
    const { info } = target;
    const result = await runCli([
      'agent-plan', '--json', '--host', info.host, '--port', String(info.port), '--user', info.user,
      '--node', info.node, '--storage', info.storage, '--bridge', info.bridge, '--remote-dir', info.remoteDir,
      '--name', name, '--ssh-key', `${info.identityFile}.pub`, '--image-url', info.imageUrl, '--image-sha256', info.imageSha256, '--timeout', '30', ...extra,
    ]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as JsonPlan;
  }

  let production: SshMcp;

  it('follows every step with run-command: uploads, starts, waits until LINUS_RESULT:SUCCESS, with no approval prompt', async () => {
    production = await startSshMcp('production');
    const built = await plan('agent-web01', ['--cores', '3', '--memory', '3072']);
    let sawRunning: StepOutput | undefined;
    const followed = await followPlan(built, async (command) => {
      const wait = built.steps.find((step) => step.kind === 'wait')!.command;
      // Right after the start, look once at the job (--max-seconds 0): it is still running, and
      // ssh-mcp must not report that as an error (the provisioner's exit 75 is turned into 0).
      if (command === wait && sawRunning === undefined) sawRunning = await production.call(command.replace('--max-seconds 45', '--max-seconds 0'));
      return production.call(command);
    });
    expect(followed.calls[0]!.text, production.stderr()).toMatch(/^LINUS_UPLOAD_NEEDED$/m);
    expect(followed.cached).toBe(false);
    expect(followed.calls.filter((call) => call.kind === 'upload').length).toBe(built.skipWhenCached.to - built.skipWhenCached.from);
    expect(followed.calls.find((call) => call.kind === 'verify')?.text).toMatch(/^LINUS_UPLOADED$/m);
    expect(followed.calls.find((call) => call.kind === 'start')?.text).toMatch(/^LINUS_JOB:RUNNING$/m);
    expect(sawRunning).toMatchObject({ isError: false });
    expect(sawRunning?.text).toMatch(/LINUS_JOB:RUNNING\n?$/);
    expect(sawRunning?.text).not.toMatch(/LINUS_RESULT:|\[exit /);

    expect(followed.final).toMatchObject({ kind: 'wait', isError: false });
    expect(followed.final.text).toMatch(/^LINUS_RESULT:SUCCESS$/m);
    expect(followed.final.text).toMatch(/^LINUS_VM_NAME:agent-web01$/m);
    // ssh-mcp redacted nothing an agent acts on (a human log line may lose a host path).
    expect(followed.calls.flatMap((call) => call.text.split('\n')).filter((line) => /^LINUS_/.test(line) && line.includes('[REDACTED'))).toEqual([]);
    const vmId = Number(/^LINUS_VM_ID:(\d+)$/m.exec(followed.final.text)?.[1]);
    const vm = target.simHost.listVms().find((entry) => entry.vmid === vmId);
    expect(vm).toMatchObject({ running: true, config: { name: 'agent-web01', cores: '3', memory: '3072' } });
    expect(production.elicitations).toEqual([]);
  }, PROVISION_TEST_MS);

  it('detects the cached provisioner on a second plan and skips every upload step', async () => {
    const built = await plan('agent-web02');
    const followed = await followPlan(built, (command) => production.call(command));
    expect(followed.calls[0]!.text).toMatch(/^LINUS_CACHED$/m);
    expect(followed.skipped).toEqual(built.steps.filter((step) => step.skipIfCached).map((step) => step.step));
    expect(followed.calls.map((call) => call.kind)).toEqual(['check', 'start', ...Array(followed.calls.length - 2).fill('wait')]);
    expect(followed.final.text).toMatch(/^LINUS_RESULT:SUCCESS$/m);
    expect(target.simHost.listVms().map((vm) => vm.config.name)).toContain('agent-web02');
  }, PROVISION_TEST_MS);

  it('surfaces a failed provision as LINUS_RESULT:FAILURE with its code, through a dev (auto-approval) ssh-mcp', async () => {
    const dev = await startSshMcp('dev');
    target.simHost.setFaults({ startFail: true });
    try {
      const followed = await followPlan(await plan('agent-fail'), (command) => dev.call(command));
      expect(followed.final.kind).toBe('wait');
      expect(followed.final.text).toMatch(/^LINUS_RESULT:FAILURE$/m);
      expect(followed.final.text).toMatch(/^LINUS_ERROR_CODE:START_FAILED$/m);
      expect(followed.final.text).toMatch(/^LINUS_REMEDIATION:.+/m);
      // ssh-mcp v2 marks the non-zero exit: the agent sees an error result holding the block.
      expect(followed.final.isError).toBe(true);
      expect(followed.final.text).toMatch(/\[exit 5\]$/);
    } finally {
      target.simHost.clearFaults();
    }
    expect(target.simHost.listVms().map((vm) => vm.config.name)).not.toContain('agent-fail');
  }, PROVISION_TEST_MS);

  it("hits ssh-mcp's real limits exactly where the plan says: 5000 characters, one line", async () => {
    const built = await plan('agent-limits');
    const longest = built.steps.reduce((a, b) => (a.command.length >= b.command.length ? a : b));
    expect(longest.command.length).toBeLessThanOrEqual(5000);
    const padded = `${longest.command}${' #'.repeat(Math.ceil((5001 - longest.command.length) / 2))}`;
    expect(await production.call(padded)).toMatchObject({ isError: true, text: expect.stringContaining('Command is too long (max 5000 characters)') });
    expect(await production.call('echo one\necho two')).toMatchObject({ isError: true, text: expect.stringContaining('cannot contain a line break') });
  });
});

describe('agent-plan and mcp-config output', () => {
  it.each([1000, 5000])('every step is one line of at most %i characters', async (max) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-plan-cli-'));
    const key = path.join(dir, 'id.pub');
    fs.writeFileSync(key, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA0rDb37eygpHUktZAObkqK/+6a7p9XxwzvlRRC/7vQR me@laptop\n');
    const result = await runCli(['agent-plan', '--json', '--max-chars', String(max), '--name', 'web01', '--ssh-key', key, '--password', '--vlan', '20']);
    expect(result.code, result.stderr).toBe(0);
    const built = JSON.parse(result.stdout) as JsonPlan;
    expect(built.maxChars).toBe(max);
    for (const step of built.steps) {
      expect(step.command.length).toBeLessThanOrEqual(max);
      expect(step.command).not.toMatch(/[\r\n]/);
      expect(typeof step.repeat).toBe('boolean');
      expect(step.purpose.length).toBeGreaterThan(10);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['claude-code', 'v2', '.mcp.json', 'run-command'],
    ['claude-desktop', 'v2', 'claude_desktop_config.json', 'run-command'],
    ['gemini', 'v2', '.gemini/settings.json', 'run-command'],
    ['claude-code', 'v1', '.mcp.json', 'exec'],
    ['claude-desktop', 'v1', 'claude_desktop_config.json', 'exec'],
    ['gemini', 'v1', '.gemini/settings.json', 'exec'],
  ])('%s with ssh-mcp %s writes %s that parses and names the %s tool', async (client, version, file, tool) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-mcp-cli-'));
    const identity = path.join(dir, 'id_ed25519');
    fs.writeFileSync(identity, '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
    const pin = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const result = await runCli(['mcp-config', '--client', client, '--ssh-mcp', version, '--host', 'pve.lan', '--identity', identity, '--host-key', pin, '--write', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`with the ${tool} tool`);
    const entry = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).mcpServers.proxmox as { args: string[]; timeout?: number; env?: Record<string, string> };
    if (version === 'v2') {
      expect(entry.args).toContain(`--config=${path.join(dir, 'ssh-mcp', 'config.toml')}`);
      const toml = parseToml(fs.readFileSync(path.join(dir, 'ssh-mcp', 'config.toml'), 'utf8')) as { profiles: Array<Record<string, unknown>> };
      expect(toml.profiles[0]).toMatchObject({ host: 'pve.lan', port: 22, user: 'root', auth: 'key', keyRef: identity, trustedHostKey: pin });
    } else {
      expect(entry.args).toEqual(expect.arrayContaining(['ssh-mcp@1.5.0', '--timeout=120000', '--maxChars=none', `--key=${identity}`]));
      expect(fs.existsSync(path.join(dir, 'ssh-mcp'))).toBe(false);
    }
    if (client === 'gemini') {
      expect(entry.timeout).toBeGreaterThanOrEqual(120_000);
      expect(entry.env).toMatchObject({ SSH_AUTH_SOCK: '$SSH_AUTH_SOCK' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
