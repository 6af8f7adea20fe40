import { z } from 'zod';
import { describeOrigin, resolveSettings, type Source, type Sources } from './load.js';
import { targetSchema, vmSpecSchema } from './spec.js';
import { fallbackLogin } from './ssh-config.js';

export interface EffectiveSetting {
  key: string;
  value: unknown;
  source: Source | 'default-key' | 'ssh-agent';
  // In words: "--host", "LINUS_HOST", "profile lab (/path)", "~/.ssh/config (Host pve)", "default".
  from: string;
}

// Variables that hold secrets: `config show` says only whether they are set.
export const SECRET_VARIABLES = ['LINUS_SSH_PASSWORD', 'LINUS_SSH_KEY_PASSPHRASE'] as const;

function defaultOf(schema: z.ZodType): unknown {
  return schema instanceof z.ZodDefault ? schema.parse(undefined) : undefined;
}

// Every setting a command would use, with where it came from; settings nothing gives and
// without a default are left out. The values are as given, before validation.
export function effectiveSettings(sources: Sources): EffectiveSetting[] {
  const settings: EffectiveSetting[] = [];
  const { name: _name, ...vmDefaults } = vmSpecSchema.shape;
  for (const schema of [targetSchema, z.object(vmDefaults)]) {
    const shape = schema.shape as unknown as Record<string, z.ZodType>;
    const { value, origin } = resolveSettings(schema, sources);
    for (const key of Object.keys(shape)) {
      const source = origin[key]?.source ?? 'default';
      const shown = source === 'default' ? defaultOf(shape[key] as z.ZodType) : value[key];
      if (shown !== undefined) settings.push({ key, value: shown, source, from: describeOrigin(key, origin[key], sources) });
    }
  }
  // How linus logs in when nothing names a key (fallbackLogin, as sshTargetOf does).
  const fallback = settings.some((setting) => setting.key === 'identity') ? undefined : fallbackLogin(sources.env);
  if (fallback && 'agent' in fallback) settings.push({ key: 'identity', value: 'ssh-agent', source: 'ssh-agent', from: 'SSH_AUTH_SOCK' });
  if (fallback && 'identity' in fallback) settings.push({ key: 'identity', value: fallback.identity, source: 'default-key', from: 'default (the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa)' });
  return settings;
}

export function secretStates(env: NodeJS.ProcessEnv): Record<string, 'set' | 'not set'> {
  return Object.fromEntries(SECRET_VARIABLES.map((name) => [name, env[name] === undefined ? 'not set' : 'set']));
}
