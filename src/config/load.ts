import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { targetSchema, vmSpecSchema } from './spec.js';

const FILE_SETTINGS = [...Object.keys(targetSchema.shape), ...Object.keys(vmSpecSchema.shape)];

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Sources {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  configFile?: string;
}

// A command's settings sources: its parsed flags, its environment and --config.
export function commandSources(argv: { config?: string | undefined }, env: NodeJS.ProcessEnv): Sources {
  return { flags: argv as Record<string, unknown>, env, ...(argv.config ? { configFile: argv.config } : {}) };
}

export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
export const envName = (key: string) => `LINUS_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

function readConfigFile(file: string): Record<string, unknown> {
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
  return data as Record<string, unknown>;
}

function fromEnv(value: string, example: z.ZodType | undefined): unknown {
  const base = example instanceof z.ZodDefault || example instanceof z.ZodOptional ? example.unwrap() : example;
  if (base instanceof z.ZodBoolean) return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
  if (base instanceof z.ZodArray) return value.split(',').map((part) => part.trim()).filter(Boolean);
  return value;
}

// Flags win over LINUS_* environment variables, which win over the config file, then defaults.
export function resolveSettings(schema: z.ZodObject, sources: Sources): { value: Record<string, unknown>; origin: Record<string, Source> } {
  const shape = schema.shape as unknown as Record<string, z.ZodType>;
  const file = sources.configFile ? readConfigFile(sources.configFile) : {};
  const merged: Record<string, unknown> = {};
  const origin: Record<string, Source> = {};
  // One file serves every command: it may hold any linus setting, each command reads its own.
  const known = new Set([...FILE_SETTINGS, ...Object.keys(shape)]);
  for (const key of Object.keys(file)) {
    if (!known.has(key)) {
      throw new LinusError({ code: 'CONFIG_INVALID', message: `--config ${sources.configFile}: unknown setting '${key}'`, remediation: `Known settings: ${[...known].join(', ')}.` });
    }
  }
  for (const key of Object.keys(shape)) {
    const flag = sources.flags[key];
    const env = sources.env[envName(key)];
    if (flag !== undefined) [merged[key], origin[key]] = [flag, 'flag'];
    else if (env !== undefined && env !== '') [merged[key], origin[key]] = [fromEnv(env, shape[key]), 'env'];
    else if (file[key] !== undefined) [merged[key], origin[key]] = [file[key], 'file'];
    else origin[key] = 'default';
  }
  return { value: merged, origin };
}

export function parseSettings<T extends z.ZodObject>(schema: T, sources: Sources): z.infer<T> {
  const { value, origin } = resolveSettings(schema, sources);
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const where = origin[key] === 'env' ? ` (from ${envName(key)})` : origin[key] === 'file' ? ` (from ${sources.configFile})` : '';
    return `${key ? flagName(key) : 'settings'}${where}: ${issue.message}`;
  });
  throw new LinusError({ code: 'INVALID_SPEC', message: lines.join('; '), remediation: 'Fix the named option and run again; nothing was sent to the host.' });
}
