import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { closestKey } from '../../../src/config/keys.js';
import { commandSources, parseSettings } from '../../../src/config/load.js';
import { readUserConfig, selectProfile, userConfigPath, writeProfile } from '../../../src/config/profiles.js';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { defaultIdentity, lookupSshConfig, parseSshConfig } from '../../../src/config/ssh-config.js';
import { errorOf } from '../../helpers/errors.js';

function home(files: Record<string, string> = {}): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-home-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return { env: { HOME: dir }, dir };
}


const CONFIG = `defaultProfile: lab
profiles:
  lab:
    host: lab-host
    port: 2201
    remote-dir: /srv/linus
    ssh-key: ~/.ssh/lab.pub
    cores: 4
  other:
    host: other-host
    node-addresses: { pve2: 10.0.0.2 }
`;

describe('the user config file', () => {
  it('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(userConfigPath({ HOME: '/home/u' })).toBe('/home/u/.config/linus/config.yaml');
    expect(userConfigPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/linus/config.yaml');
  });

  it('reads camelCase and kebab-case keys alike and expands ~ in paths', () => {
    const { env, dir } = home({ '.config/linus/config.yaml': CONFIG });
    const config = readUserConfig(userConfigPath(env), env);
    expect(config?.defaultProfile).toBe('lab');
    expect(config?.profiles.lab).toEqual({ host: 'lab-host', port: 2201, remoteDir: '/srv/linus', sshKey: path.join(dir, '.ssh/lab.pub'), cores: 4 });
    expect(config?.profiles.other?.nodeAddresses).toEqual(['pve2=10.0.0.2']);
  });

  it('says "did you mean" for an unknown key, in a profile and at the top', () => {
    const typo = home({ '.config/linus/config.yaml': 'profiles:\n  lab:\n    hots: x\n' });
    const error = errorOf(() => readUserConfig(userConfigPath(typo.env), typo.env));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/profile 'lab': unknown setting 'hots' \(did you mean host\?\)$/);
    const kebab = home({ '.config/linus/config.yaml': 'profiles:\n  lab:\n    remote-dri: /x\n' });
    expect(errorOf(() => readUserConfig(userConfigPath(kebab.env), kebab.env)).message).toMatch(/unknown setting 'remote-dri' \(did you mean remoteDir\?\)/);
    const top = home({ '.config/linus/config.yaml': 'default-profil: lab\n' });
    expect(errorOf(() => readUserConfig(userConfigPath(top.env), top.env)).message).toMatch(/unknown setting 'default-profil' \(did you mean defaultProfile\?\)/);
    expect(closestKey('zzzzzz', ['host', 'port'])).toBeUndefined();
  });

  it('refuses a key given in both spellings, a bad value and a defaultProfile that names nothing', () => {
    const twice = home({ '.config/linus/config.yaml': 'profiles:\n  lab:\n    remoteDir: /a\n    remote-dir: /b\n' });
    expect(errorOf(() => readUserConfig(userConfigPath(twice.env), twice.env)).message).toMatch(/'remoteDir' is given twice/);
    const bad = home({ '.config/linus/config.yaml': 'profiles:\n  lab:\n    cores: lots\n' });
    expect(errorOf(() => readUserConfig(userConfigPath(bad.env), bad.env)).message).toMatch(/profiles\.lab\.cores: /);
    const dangling = home({ '.config/linus/config.yaml': 'defaultProfile: gone\nprofiles:\n  lab: { host: h }\n' });
    expect(errorOf(() => readUserConfig(userConfigPath(dangling.env), dangling.env)).message).toMatch(/defaultProfile: names no profile \(profiles: lab\)/);
  });

  it('picks --profile, else LINUS_PROFILE, else defaultProfile, and lists the profiles for an unknown name', () => {
    const { env } = home({ '.config/linus/config.yaml': CONFIG });
    expect(selectProfile(undefined, env)?.name).toBe('lab');
    expect(selectProfile(undefined, { ...env, LINUS_PROFILE: 'other' })?.name).toBe('other');
    expect(selectProfile('lab', { ...env, LINUS_PROFILE: 'other' })?.name).toBe('lab');
    const unknown = errorOf(() => selectProfile('prod', env));
    expect(unknown.code).toBe('CONFIG_INVALID');
    expect(unknown.message).toBe(`--profile prod: no such profile in ${userConfigPath(env)} (profiles: lab, other)`);
    expect(errorOf(() => selectProfile(undefined, { ...env, LINUS_PROFILE: 'prod' })).message).toMatch(/^LINUS_PROFILE prod: no such profile/);
  });

  it('has no profile without a file, and says so when one is asked for', () => {
    const { env } = home();
    expect(selectProfile(undefined, env)).toBeUndefined();
    expect(errorOf(() => selectProfile('lab', env)).message).toBe(`--profile lab: there is no ${userConfigPath(env)}`);
  });

  it('writes a profile into an existing file, keeping its comments and other profiles, mode 600', () => {
    const { env } = home({ '.config/linus/config.yaml': `# mine\n${CONFIG}` });
    const file = userConfigPath(env);
    expect(writeProfile(file, 'sandbox', { host: '127.0.0.1', port: 2222 }, { makeDefault: 'if-none' })).toEqual({ madeDefault: false });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^# mine\n/);
    expect(readUserConfig(file, env)).toMatchObject({ defaultProfile: 'lab', profiles: { lab: { host: 'lab-host' }, sandbox: { host: '127.0.0.1', port: 2222 } } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const fresh = home();
    expect(writeProfile(userConfigPath(fresh.env), 'sandbox', { host: 'h' }, { makeDefault: 'if-none' })).toEqual({ madeDefault: true });
    expect(readUserConfig(userConfigPath(fresh.env), fresh.env)?.defaultProfile).toBe('sandbox');
  });
});

describe('precedence: flags > LINUS_* > --config > profile > ~/.ssh/config > defaults', () => {
  const { env } = home({
    '.config/linus/config.yaml': 'defaultProfile: lab\nprofiles:\n  lab:\n    host: alias\n    node: profile-node\n    storage: profile-storage\n    bridge: profile-bridge\n    cores: 6\n',
    '.ssh/config': 'Host alias\n  HostName 10.1.2.3\n  User admin\n  Port 2200\n  IdentityFile ~/.ssh/lab_key\n',
    'linus.yaml': 'storage: file-storage\nbridge: file-bridge\nsnippets-storage: file-snippets\n',
    '.ssh/lab_key': 'key',
  });
  const configFile = path.join(env.HOME as string, 'linus.yaml');

  it('lets each layer override the next', () => {
    const sources = commandSources({ config: configFile }, { ...env, LINUS_BRIDGE: 'env-bridge', LINUS_NODE: 'env-node' });
    const target = parseSettings(targetSchema, { ...sources, flags: { node: 'flag-node' } });
    expect(target).toMatchObject({
      node: 'flag-node',
      bridge: 'env-bridge',
      storage: 'file-storage',
      snippetsStorage: 'file-snippets',
      host: '10.1.2.3',
      user: 'admin',
      port: 2200,
      identity: path.join(env.HOME as string, '.ssh/lab_key'),
      remoteDir: '/var/lib/linus',
    });
    expect(parseSettings(vmSpecSchema, { ...sources, flags: { name: 'web01', password: true } })).toMatchObject({ cores: 6, memory: 2048 });
  });

  it('passes over an IdentityFile that does not exist, as ssh does', () => {
    const missing = home({ '.ssh/config': 'Host *\n  IdentityFile ~/.ssh/gone\n' });
    expect(parseSettings(targetSchema, { ...commandSources({}, missing.env), flags: { host: 'h' } }).identity).toBeUndefined();
  });

  it('takes port, user and identity from ~/.ssh/config only when no other layer gives them', () => {
    const sources = commandSources({}, { ...env, LINUS_USER: 'env-user' });
    expect(parseSettings(targetSchema, { ...sources, flags: { port: 22 } })).toMatchObject({ host: '10.1.2.3', port: 22, user: 'env-user' });
  });
});

describe('~/.ssh/config', () => {
  const text = `# global
User everyone
Host web* !web-old
  HostName %h.lan
  Port 2201
Host db?
  HostName db.internal
  IdentityFile "~/.ssh/db key"
Match host db1
  User ignored
Include other.conf
Host *
  Port 22
  User fallback
  IdentityFile ~/.ssh/any
`;
  const blocks = parseSshConfig(text);

  it('takes the first value of each key over every matching Host block, as OpenSSH does', () => {
    expect(lookupSshConfig(blocks, 'web1', '/h')).toEqual({
      hostName: { value: 'web1.lan', pattern: 'web* !web-old' },
      port: { value: 2201, pattern: 'web* !web-old' },
      user: { value: 'everyone', pattern: '*' },
      identityFile: { value: '/h/.ssh/any', pattern: '*' },
    });
  });

  it('matches ? as one character, honours negated patterns and skips Match blocks', () => {
    expect(lookupSshConfig(blocks, 'db1', '/h')).toMatchObject({ hostName: { value: 'db.internal' }, identityFile: { value: '/h/.ssh/db key' }, port: { value: 22 }, user: { value: 'everyone' } });
    expect(lookupSshConfig(blocks, 'db10', '/h').hostName).toBeUndefined();
    expect(lookupSshConfig(blocks, 'web-old', '/h').hostName).toBeUndefined();
  });

  it('falls back to the first of id_ed25519, id_ecdsa, id_rsa that exists', () => {
    expect(defaultIdentity(home().dir)).toBeUndefined();
    const rsa = home({ '.ssh/id_rsa': 'k', '.ssh/id_ecdsa': 'k' });
    expect(defaultIdentity(rsa.dir)).toBe(path.join(rsa.dir, '.ssh/id_ecdsa'));
    const all = home({ '.ssh/id_rsa': 'k', '.ssh/id_ed25519': 'k' });
    expect(defaultIdentity(all.dir)).toBe(path.join(all.dir, '.ssh/id_ed25519'));
  });
});

describe('--config keys', () => {
  it('accepts kebab-case and says "did you mean" for a typo', () => {
    const { env, dir } = home({ 'c.yaml': 'remote-dir: /srv/x\nhost: h\n', 'bad.yaml': 'snipets-storage: local\n' });
    expect(parseSettings(targetSchema, { flags: {}, env, configFile: path.join(dir, 'c.yaml') }).remoteDir).toBe('/srv/x');
    const error = errorOf(() => parseSettings(targetSchema, { flags: {}, env, configFile: path.join(dir, 'bad.yaml') }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/unknown setting 'snipets-storage' \(did you mean snippetsStorage\?\)/);
  });
});
