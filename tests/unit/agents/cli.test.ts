import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { agentPlanCommand } from '../../../src/cli/commands/agent-plan.js';
import { provisionCommand } from '../../../src/cli/commands/provision.js';
import { processIo } from '../../../src/cli/io.js';
import { runCli } from '../../helpers/driver.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-agent-cli-'));
const key = path.join(dir, 'id_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', key]);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
// The commands' builders only: nothing runs.
const cli = { io: processIo(), exitCode: 0 };

interface YargsOptions {
  key: Record<string, boolean>;
  string: string[];
  number: string[];
  boolean: string[];
  choices: Record<string, unknown>;
}

// yargs' own record of a command's options (getOptions is public in yargs 18, untyped in @types/yargs).
function options(command: Pick<CommandModule, 'builder'>): YargsOptions {
  const instance = yargs([]);
  (command.builder as (y: Argv) => Argv)(instance);
  return (instance as unknown as { getOptions(): YargsOptions }).getOptions();
}

const VM_FLAGS = ['name', 'os', 'cores', 'memory', 'disk', 'vm-user', 'ssh-key', 'password', 'ip', 'gateway', 'dns', 'search-domain', 'vlan', 'image-url', 'image-sha256', 'timeout'];

describe('linus agent-plan', () => {
  it('takes the VM flags of provision with the same types and choices, and none of its SSH credential flags', () => {
    const plan = options(agentPlanCommand(cli));
    const provision = options(provisionCommand(cli));
    for (const flag of VM_FLAGS) {
      expect(flag in plan.key, flag).toBe(true);
      for (const kind of ['string', 'number', 'boolean'] as const) expect(plan[kind].includes(flag), `${flag} ${kind}`).toBe(provision[kind].includes(flag));
      expect(plan.choices[flag], flag).toEqual(provision.choices[flag]);
    }
    for (const flag of ['node', 'storage', 'bridge', 'remote-dir', 'host', 'port', 'user', 'config']) expect(flag in plan.key, flag).toBe(true);
    for (const flag of ['identity', 'known-hosts', 'host-key', 'accept-new-host-key', 'sandbox']) expect(flag in plan.key, flag).toBe(false);
  });

  it('prints numbered steps, each command alone on its line, matching the JSON plan', async () => {
    const text = await runCli(['agent-plan', '--name', 'web01', '--ssh-key', `${key}.pub`, '--host', 'pve.lan']);
    expect(text.code, text.stderr).toBe(0);
    const json = await runCli(['agent-plan', '--name', 'web01', '--ssh-key', `${key}.pub`, '--host', 'pve.lan', '--json']);
    const plan = JSON.parse(json.stdout) as { runId: string; steps: Array<{ command: string; kind: string }> };
    const lines = text.stdout.split('\n');
    const headers = lines.flatMap((line, index) => (/^Step \d+ of \d+ \(/.test(line) ? [index] : []));
    expect(headers.length).toBe(plan.steps.length);
    const commands = headers.map((index) => lines[index + 1]!);
    // Each run draws a new run id; everything else is the same plan.
    const runId = /\(run id ([a-z0-9-]+)\)/.exec(text.stdout)![1]!;
    expect(commands).toEqual(plan.steps.map((step) => step.command.replaceAll(plan.runId, runId)));
    expect(text.stdout).toMatch(/After LINUS_CACHED, skip steps 2-\d+/);
    expect(text.stdout).toContain('root@pve.lan:22');
  });

  it.each([
    ['a name that is not a DNS label', ['--name', 'Web01'], /--name: must be a DNS label/],
    ['no key and no --password', ['--name', 'web01'], /--ssh-key: is required/],
    ['a private key as --ssh-key', ['--name', 'web01', '--ssh-key', key], /is a PRIVATE key; it was not sent anywhere/],
    ['a gateway with DHCP', ['--name', 'web01', '--password', '--gateway', '10.0.0.1'], /--gateway: only goes with a static --ip/],
    ['a relative --remote-dir', ['--name', 'web01', '--password', '--remote-dir', 'relative'], /--remote-dir: must be an absolute path/],
    ['--max-chars 100', ['--name', 'web01', '--password', '--max-chars', '100'], /--max-chars: Too small/],
    ['a start step longer than --max-chars', ['--name', 'web01', '--password', '--image-url', `https://x.example/${'a'.repeat(1000)}`, '--image-sha256', 'a'.repeat(64), '--max-chars', '1000'], /--max-chars 1000 is too small: the start step needs/],
    ['--identity (ssh-mcp holds the credentials)', ['--name', 'web01', '--password', '--identity', key], /Unknown arguments?: identity/],
    ['--known-hosts', ['--name', 'web01', '--password', '--known-hosts', '/dev/null'], /Unknown arguments?: known-hosts/],
  ])('refuses %s before printing anything', async (_label, args, message) => {
    const result = await runCli(['agent-plan', ...args]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('with --json, a refusal is one JSON object on stdout; settings also come from LINUS_* variables', async () => {
    const refused = await runCli(['agent-plan', '--json', '--name', 'web01']);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ ok: false, error: { code: 'INVALID_SPEC', exitCode: 1 } });
    const fromEnv = await runCli(['agent-plan', '--json', '--password'], { LINUS_NAME: 'envvm', LINUS_NODE: 'pve2', LINUS_REMOTE_DIR: '/srv/linus' });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const start = (fromEnv.json().steps as Array<{ kind: string; command: string }>).find((step) => step.kind === 'start')!.command;
    expect(start).toContain('--name envvm');
    expect(start).toContain('--node pve2');
    expect(start).toContain('f=/srv/linus/provisioners/');
    expect(start).toContain('--password');
  });
});

describe('linus mcp-config', () => {
  const pin = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

  it('prints the ssh-mcp config with its chmod instructions and the client entry, touching no file', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-home-'));
    const result = await runCli(['mcp-config', '--client', 'gemini', '--host', 'pve.lan', '--identity', key, '--host-key', pin, '--profile', 'dev'], { HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg') });
    expect(result.code, result.stderr).toBe(0);
    const configPath = path.join(home, 'xdg', 'ssh-mcp', 'config.toml');
    expect(result.stdout).toContain(`mkdir -p ${path.dirname(configPath)} && chmod 700 ${path.dirname(configPath)}`);
    expect(result.stdout).toContain(`chmod 600 ${configPath}`);
    const [, tomlPart, jsonPart] = result.stdout.split(/^==> .*$/m);
    expect(parseToml(tomlPart!.replace(/^# mkdir.*$/m, ''))).toMatchObject({ profiles: [{ approvalPolicy: 'auto', group: 'dev', keyRef: key, trustedHostKey: pin }] });
    expect(JSON.parse(jsonPart!).mcpServers.proxmox).toMatchObject({ command: 'npx', args: ['-y', 'ssh-mcp@2.11.0', `--config=${configPath}`, '--hostKeyMode=strict'], timeout: 120_000 });
    expect(fs.readdirSync(home)).toEqual([]);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it.each([
    [['--client', 'claude-code'], 1, /--host: is required/],
    [['--client', 'cursor', '--host', 'pve.lan'], 1, /Invalid values/],
    [['--client', 'claude-code', '--host', 'pve.lan', '--ssh-mcp', 'v1'], 1, /ssh-mcp v1 logs in only with a key file/],
    [['--client', 'claude-code', '--host', 'pve.lan', '--identity', `${key}.pub`, '--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], 25, /is not a private key file/],
    [['--client', 'claude-code', '--host', 'unknown.lan', '--known-hosts', '/dev/null'], 21, /no host key to pin/],
    [['--client', 'claude-code', '--host', 'pve.lan', '--host-key', 'SHA256:short'], 1, /--host-key: must be a fingerprint/],
    [['--client', 'gemini', '--host', 'pve.lan', '--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '--server-name', 'pve_1'], 1, /--server-name: must be lowercase/],
    [['--client', 'claude-code', '--host', 'pve.lan', '--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '--read-only'], 1, /--read-only and --allow-foreign are settings of the linus server/],
    [['--client', 'claude-code', '--server', 'linus'], 1, /--host: is required/],
    [['--client', 'claude-code', '--server', 'linus', '--host', 'pve.lan', '--identity', `${key}.pub`], 25, /is not a private key file/],
  ])('refuses %j with exit %i', async (args, code, message) => {
    const result = await runCli(['mcp-config', ...args]);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('--server linus --write merges a linus entry that starts this installation, with absolute paths, and writes no ssh-mcp config', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-home-'));
    const project = path.join(home, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, '.mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'x', args: [] } } }));
    const result = await runCli(
      ['mcp-config', '--client', 'claude-code', '--server', 'linus', '--host', 'pve.lan', '--identity', path.relative(process.cwd(), key), '--node', 'pve2', '--read-only', '--write', project],
      { HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg') },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`wrote ${path.join(project, '.mcp.json')} (merged into the existing file)`);
    const servers = JSON.parse(fs.readFileSync(path.join(project, '.mcp.json'), 'utf8')).mcpServers;
    expect(Object.keys(servers)).toEqual(['other', 'linus']);
    expect(servers.linus).toEqual({ type: 'stdio', command: process.execPath, args: [expect.stringMatching(/\/src\/cli\/main\.js$/), 'mcp', '--host', 'pve.lan', '--identity', key, '--node', 'pve2', '--read-only'] });
    expect(fs.existsSync(path.join(home, 'xdg'))).toBe(false);
    fs.rmSync(home, { recursive: true, force: true });
  });
});
