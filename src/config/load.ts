import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { normalizeKeys } from './keys.js';
import { OS_NAMES, resolveOs } from './os-images.js';
import { selectProfile, type Profile } from './profiles.js';
import { targetSchema, vmSpecSchema } from './spec.js';
import { expandHome, homeOf, readSshConfig, sshConfigPath } from './ssh-config.js';

const FILE_SETTINGS = [...Object.keys(targetSchema.shape), ...Object.keys(vmSpecSchema.shape)];

export type Source = 'flag' | 'env' | 'file' | 'profile' | 'ssh-config' | 'default';

export interface Origin {
  source: Source;
  // ssh-config: the Host line that matched.
  pattern?: string;
}

export interface Sources {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  configFile?: string;
  profile?: Profile;
  // ~/.ssh/config, read for host, port, user and identity that nothing else gives.
  sshConfigFile?: string;
}

// A command's settings sources: its parsed flags, its environment, --config, the profile
// (--profile, LINUS_PROFILE or the user config's defaultProfile) and ~/.ssh/config.
export function commandSources(argv: { config?: string | undefined; profile?: string | undefined }, env: NodeJS.ProcessEnv): Sources {
  const profile = selectProfile(argv.profile, env);
  return {
    flags: argv as Record<string, unknown>,
    env,
    ...(argv.config ? { configFile: argv.config } : {}),
    ...(profile ? { profile } : {}),
    sshConfigFile: sshConfigPath(env),
  };
}

// Whether any layer names the host (the schema's own error for a missing host is less plain).
export function hostGiven(sources: Sources): boolean {
  if (sources.flags.host !== undefined || sources.env.LINUS_HOST || sources.profile?.settings.host !== undefined) return true;
  return sources.configFile !== undefined;
}

export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
export const envName = (key: string) => `LINUS_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

function readConfigFile(file: string, known: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `cannot read --config ${file}: ${(cause as Error).message}`, remediation: 'Pass an existing JSON or YAML file to --config.', cause });
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `--config ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(cause as Error).message}`, cause });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `--config ${file} must hold one object of settings` });
  }
  return normalizeKeys(data as Record<string, unknown>, known, `--config ${file}`);
}

function fromEnv(value: string, example: z.ZodType | undefined): unknown {
  const base = example instanceof z.ZodDefault || example instanceof z.ZodOptional ? example.unwrap() : example;
  if (base instanceof z.ZodBoolean) return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
  if (base instanceof z.ZodArray) return value.split(',').map((part) => part.trim()).filter(Boolean);
  return value;
}

const PATH_KEYS = ['identity', 'knownHosts', 'sshKey'];

// Flags win over LINUS_* environment variables, over the --config file, over the profile, over
// ~/.ssh/config (host, port, user, identity), over defaults.
export function resolveSettings(schema: z.ZodObject, sources: Sources): { value: Record<string, unknown>; origin: Record<string, Origin> } {
  const shape = schema.shape as unknown as Record<string, z.ZodType>;
  const home = homeOf(sources.env);
  // One file serves every command: it may hold any linus setting, each command reads its own.
  const file = sources.configFile ? readConfigFile(sources.configFile, [...new Set([...FILE_SETTINGS, ...Object.keys(shape)])]) : {};
  for (const key of PATH_KEYS) if (typeof file[key] === 'string') file[key] = expandHome(file[key], home);
  const profile = sources.profile?.settings ?? {};
  const merged: Record<string, unknown> = {};
  const origin: Record<string, Origin> = {};
  for (const key of Object.keys(shape)) {
    const flag = sources.flags[key];
    const env = sources.env[envName(key)];
    if (flag !== undefined) [merged[key], origin[key]] = [flag, { source: 'flag' }];
    else if (env !== undefined && env !== '') [merged[key], origin[key]] = [fromEnv(env, shape[key]), { source: 'env' }];
    else if (file[key] !== undefined) [merged[key], origin[key]] = [file[key], { source: 'file' }];
    else if (profile[key] !== undefined) [merged[key], origin[key]] = [profile[key], { source: 'profile' }];
    else origin[key] = { source: 'default' };
  }
  if ('host' in shape && typeof merged.host === 'string' && sources.sshConfigFile) {
    const ssh = readSshConfig(sources.sshConfigFile, merged.host, home);
    // ssh passes over an IdentityFile that does not exist; so does linus.
    const identity = ssh.identityFile && fs.existsSync(ssh.identityFile.value) ? ssh.identityFile : undefined;
    for (const [key, entry] of [['host', ssh.hostName], ['port', ssh.port], ['user', ssh.user], ['identity', identity]] as const) {
      // The host given is the alias ssh itself would look up: its HostName replaces it.
      if (entry && key in shape && (key === 'host' || merged[key] === undefined)) [merged[key], origin[key]] = [entry.value, { source: 'ssh-config', pattern: entry.pattern }];
    }
  }
  // A profile's image for the OS asked for, unless a URL came from anywhere else.
  const images = sources.profile?.settings.images;
  if ('imageUrl' in shape && merged.imageUrl === undefined && images) {
    const os = typeof merged.os === 'string' ? merged.os : 'ubuntu';
    const image = OS_NAMES.includes(os) ? (images[resolveOs(os)] ?? images[os]) : undefined;
    if (image && merged.imageSha256 === undefined) {
      [merged.imageUrl, origin.imageUrl] = [image.url, { source: 'profile' }];
      [merged.imageSha256, origin.imageSha256] = [image.sha256, { source: 'profile' }];
    }
  }
  return { value: merged, origin };
}

// Where a setting came from, in words: "--host", "LINUS_HOST", "profile lab (/home/u/.config/linus/config.yaml)".
export function describeOrigin(key: string, origin: Origin | undefined, sources: Sources): string {
  switch (origin?.source) {
    case 'flag':
      return flagName(key);
    case 'env':
      return envName(key);
    case 'file':
      return `--config ${sources.configFile}`;
    case 'profile':
      return `profile ${sources.profile?.name} (${sources.profile?.file})`;
    case 'ssh-config':
      return `${sources.sshConfigFile} (Host ${origin.pattern})`;
    default:
      return 'default';
  }
}

export function parseSettings<T extends z.ZodObject>(schema: T, sources: Sources): z.infer<T> {
  const { value, origin } = resolveSettings(schema, sources);
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const where = origin[key] === undefined || ['flag', 'default'].includes(origin[key].source) ? '' : ` (from ${describeOrigin(key, origin[key], sources)})`;
    return `${key ? flagName(key) : 'settings'}${where}: ${issue.message}`;
  });
  throw new LinusError({ code: 'INVALID_SPEC', message: lines.join('; '), remediation: 'Fix the named option and run again; nothing was sent to the host.' });
}
