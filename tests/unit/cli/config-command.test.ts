import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshTargetOf } from '../../../src/cli/target.js';
import { targetSchema } from '../../../src/config/spec.js';
import { runCli } from '../../helpers/driver.js';

// A home of its own for each test: HOME and XDG_CONFIG_HOME never reach the real ones.
function newHome(files: Record<string, string> = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-home-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(home, file)), { recursive: true });
    fs.writeFileSync(path.join(home, file), text);
  }
  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg') };
  return { home, env, configFile: path.join(home, 'xdg', 'linus', 'config.yaml') };
}

describe('linus config init', () => {
  it('writes one profile from the flags, mode 600, the default, and refuses to overwrite without --force', async () => {
    const { env, configFile, home } = newHome();
    const init = await runCli(['config', 'init', '--host', 'pve.lan', '--identity', '~/k', '--node-address', 'pve2=10.0.0.2', '--cores', '4', '--profile', 'lab'], env);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toBe(`Wrote ${configFile} (mode 600) with profile 'lab', the default.\nCheck it: linus config show\n`);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(configFile, 'utf8')).toContain(`defaultProfile: lab\nprofiles:\n  lab:\n    host: pve.lan\n    identity: ${path.resolve('~/k')}\n`);

    const again = await runCli(['config', 'init', '--host', 'other'], env);
    expect(again.code).toBe(25);
    expect(again.stderr).toContain(`linus: ${configFile} exists; not overwriting it [CONFIG_INVALID]`);
    expect(fs.readFileSync(configFile, 'utf8')).toContain('host: pve.lan');

    const forced = await runCli(['config', 'init', '--host', 'other', '--force'], env);
    expect(forced.code).toBe(0);
    const profiles = await runCli(['config', 'profiles', '--json'], env);
    expect(profiles.json()).toEqual({ ok: true, file: configFile, defaultProfile: 'default', profiles: [{ name: 'default', default: true, host: 'other' }] });
    expect(fs.existsSync(path.join(home, '.config'))).toBe(false);
  });

  it('checks the values before writing anything', async () => {
    const { env, configFile } = newHome();
    const bad = await runCli(['config', 'init', '--host', 'pve.lan', '--remote-dir', 'relative'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--remote-dir: /);
    expect(fs.existsSync(configFile)).toBe(false);
  });
});

describe('linus config show', () => {
  const files = {
    'xdg/linus/config.yaml': 'defaultProfile: lab\nprofiles:\n  lab:\n    host: alias\n    node: profile-node\n    storage: profile-storage\n    bridge: profile-bridge\n    memory: 4096\n  spare:\n    host: spare.lan\n',
    '.ssh/config': 'Host alias\n  HostName 10.1.2.3\n  User admin\n',
    '.ssh/id_ecdsa': 'not read here',
    'linus.yaml': 'storage: file-storage\nbridge: file-bridge\n',
  };

  it('names where each setting came from: flag, LINUS_*, --config, profile, ~/.ssh/config, default', async () => {
    const { env, home, configFile } = newHome(files);
    const show = await runCli(['config', 'show', '--json', '--config', path.join(home, 'linus.yaml'), '--node', 'flag-node'], { ...env, LINUS_BRIDGE: 'env-bridge', LINUS_SSH_PASSWORD: 'hunter2', LINUS_SSH_KEY_PASSPHRASE: 'secret phrase' });
    expect(show.code, show.stderr).toBe(0);
    const body = show.json();
    expect(body.profile).toEqual({ name: 'lab', file: configFile });
    expect(body.settings).toMatchObject({
      node: { value: 'flag-node', from: '--node' },
      bridge: { value: 'env-bridge', from: 'LINUS_BRIDGE' },
      storage: { value: 'file-storage', from: `--config ${path.join(home, 'linus.yaml')}` },
      memory: { value: 4096, from: `profile lab (${configFile})` },
      host: { value: '10.1.2.3', from: `${path.join(home, '.ssh/config')} (Host alias)` },
      user: { value: 'admin', from: `${path.join(home, '.ssh/config')} (Host alias)` },
      port: { value: 22, from: 'default' },
    });
    expect(body.secrets).toEqual({ LINUS_SSH_PASSWORD: 'set', LINUS_SSH_KEY_PASSPHRASE: 'set' });
    expect(show.stdout).not.toMatch(/hunter2|secret phrase/);
  });

  it('prints a table, takes --profile and LINUS_PROFILE, and shows the usual key file when nothing names one', async () => {
    const { env, home, configFile } = newHome(files);
    const show = await runCli(['config', 'show', '--profile', 'spare'], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^Profile: spare \\(${configFile}\\)\n`));
    expect(show.stdout).toMatch(/\nhost +spare\.lan +profile spare /);
    expect(show.stdout).toMatch(new RegExp(`\nidentity +${path.join(home, '.ssh/id_ecdsa')} +default \\(the first of`));
    expect(show.stdout).toContain('\nLINUS_SSH_PASSWORD: not set\n');
    const viaEnv = await runCli(['config', 'show', '--json'], { ...env, LINUS_PROFILE: 'spare' });
    expect(viaEnv.json().settings.host.value).toBe('spare.lan');
  });

  it('refuses an unknown profile, listing the ones there are', async () => {
    const { env, configFile } = newHome(files);
    const show = await runCli(['config', 'show', '--profile', 'prod'], env);
    expect(show.code).toBe(25);
    expect(show.stderr).toContain(`linus: --profile prod: no such profile in ${configFile} (profiles: lab, spare) [CONFIG_INVALID]`);
    const json = await runCli(['capacity', '--profile', 'prod', '--json'], env);
    expect(json.json()).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
  });
});

describe('linus config profiles', () => {
  it('lists the names with the default marked, and says how to add one when there are none', async () => {
    const { env, configFile } = newHome({ 'xdg/linus/config.yaml': 'defaultProfile: b\nprofiles:\n  a: { host: a.lan }\n  b: { host: b.lan }\n' });
    expect((await runCli(['config', 'profiles'], env)).stdout).toBe('  a  a.lan\n* b  b.lan  (default)\n');
    fs.rmSync(configFile);
    expect((await runCli(['config', 'profiles'], env)).stdout).toBe(`No profiles: there is no ${configFile}. Add one: linus config init --host HOST (or linus sandbox up).\n`);
  });
});

describe('authentication without --identity', () => {
  const target = targetSchema.parse({ host: 'pve.lan' });

  it('uses the usual key file when there is no agent and no password', () => {
    const { home } = newHome({ '.ssh/id_rsa': 'k', '.ssh/id_ed25519': 'k' });
    expect(sshTargetOf(target, { HOME: home }).identityFile).toBe(path.join(home, '.ssh/id_ed25519'));
    expect(sshTargetOf(target, { HOME: home, SSH_AUTH_SOCK: '/agent' }).identityFile).toBeUndefined();
  });

  it('is CONFIG_INVALID naming every way there is when there is none', () => {
    const { home } = newHome();
    expect(() => sshTargetOf(target, { HOME: home })).toThrow(/no way to authenticate: no --identity, no IdentityFile in ~\/.ssh\/config, no ~\/.ssh\/id_ed25519, id_ecdsa or id_rsa/);
  });
});

describe('mcp-config --server linus', () => {
  it('takes the host settings from a profile (--host-profile; --profile stays the approval profile)', async () => {
    const key = path.join(newHome().home, 'id_test');
    fs.writeFileSync(key, '-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n');
    const { env } = newHome({ 'xdg/linus/config.yaml': `profiles:\n  lab:\n    host: lab.lan\n    identity: ${key}\n    node: pve3\n` });
    const result = await runCli(['mcp-config', '--client', 'claude-code', '--server', 'linus', '--host-profile', 'lab'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`"mcp",\n        "--host",\n        "lab.lan",\n        "--identity",\n        "${key}",\n        "--node",\n        "pve3"`);
  });
});
