import fs from 'node:fs';
import path from 'node:path';
import { Document, parseDocument } from 'yaml';
import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { normalizeKeys } from './keys.js';
import { OS_NAMES } from './os-images.js';
import { patternSchema } from './rules.js';
import { targetSchema, vmSpecSchema } from './spec.js';
import { expandHome, homeOf } from './ssh-config.js';

// The user's own settings file: named profiles of target settings and VM defaults.
export function userConfigPath(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(homeOf(env), '.config'), 'linus', 'config.yaml');
}

const optional = (schema: z.ZodType) => (schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema).optional();

const { name: _name, ...vmDefaults } = vmSpecSchema.shape;
const profileShape = {
  ...Object.fromEntries(Object.entries({ ...targetSchema.shape, ...vmDefaults }).map(([key, schema]) => [key, optional(schema as z.ZodType)])),
  // The OS images this host downloads from (a mirror, an offline host, the sandbox's server),
  // by OS name: used when no --image-url is given.
  images: z.partialRecord(z.enum(OS_NAMES), z.object({ url: patternSchema('url'), sha256: patternSchema('sha256') }).strict()).optional(),
};

export const PROFILE_KEYS = Object.keys(profileShape);
export const profileSchema = z.object(profileShape).strict();
export type ProfileSettings = Record<string, unknown> & { images?: Record<string, { url: string; sha256: string }> };

const profileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: 'must be letters, digits, ".", "_" and "-"' });

const userConfigSchema = z
  .object({
    defaultProfile: profileName.optional(),
    profiles: z.record(profileName, profileSchema).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.defaultProfile !== undefined && !(config.defaultProfile in config.profiles)) {
      ctx.addIssue({ code: 'custom', path: ['defaultProfile'], message: `names no profile (profiles: ${Object.keys(config.profiles).join(', ') || 'none'})` });
    }
  });

export interface UserConfig {
  file: string;
  defaultProfile?: string;
  profiles: Record<string, ProfileSettings>;
}

export interface Profile {
  name: string;
  file: string;
  settings: ProfileSettings;
}

const PATH_KEYS = ['identity', 'knownHosts', 'sshKey'];

function invalid(file: string, message: string, cause?: unknown): LinusError {
  return new LinusError({ code: 'CONFIG_INVALID', message: `${file}: ${message}`, remediation: `Fix ${file} (see docs/config.md), or check it with 'linus config show'.`, ...(cause ? { cause } : {}) });
}

// undefined when the file does not exist; a file that exists must be valid.
export function readUserConfig(file: string, env: NodeJS.ProcessEnv): UserConfig | undefined {
  if (!fs.existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = parseDocument(fs.readFileSync(file, 'utf8'), { prettyErrors: false }).toJS() ?? {};
  } catch (cause) {
    throw invalid(file, `not valid YAML: ${(cause as Error).message}`, cause);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid(file, 'must hold one map (defaultProfile, profiles)');
  const top = normalizeKeys(data as Record<string, unknown>, ['defaultProfile', 'profiles'], file);
  const profiles = top.profiles;
  if (profiles !== undefined && profiles !== null && typeof profiles === 'object' && !Array.isArray(profiles)) {
    top.profiles = Object.fromEntries(
      Object.entries(profiles).map(([name, settings]) => [
        name,
        settings !== null && typeof settings === 'object' && !Array.isArray(settings) ? normalizeKeys(settings as Record<string, unknown>, PROFILE_KEYS, `${file}: profile '${name}'`) : settings,
      ]),
    );
  }
  const parsed = userConfigSchema.safeParse(top);
  if (!parsed.success) {
    throw invalid(file, parsed.error.issues.map((issue) => `${issue.path.join('.') || 'the file'}: ${issue.message}`).join('; '));
  }
  const home = homeOf(env);
  const expanded = Object.fromEntries(
    Object.entries(parsed.data.profiles).map(([name, settings]) => [
      name,
      Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, PATH_KEYS.includes(key) && typeof value === 'string' ? expandHome(value, home) : value])) as ProfileSettings,
    ]),
  );
  return { file, profiles: expanded, ...(parsed.data.defaultProfile === undefined ? {} : { defaultProfile: parsed.data.defaultProfile }) };
}

// The profile a command uses: --profile, else LINUS_PROFILE, else the file's defaultProfile.
export function selectProfile(flag: string | undefined, env: NodeJS.ProcessEnv): Profile | undefined {
  const file = userConfigPath(env);
  const config = readUserConfig(file, env);
  const asked = flag ?? (env.LINUS_PROFILE || undefined);
  const name = asked ?? config?.defaultProfile;
  if (name === undefined) return undefined;
  const how = flag !== undefined ? '--profile' : asked !== undefined ? 'LINUS_PROFILE' : 'defaultProfile';
  if (!config) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `${how} ${name}: there is no ${file}`, remediation: "Create it with 'linus config init --host ...' (or 'linus sandbox up' for a 'sandbox' profile)." });
  }
  const settings = config.profiles[name];
  if (!settings) {
    const names = Object.keys(config.profiles);
    throw new LinusError({
      code: 'CONFIG_INVALID',
      message: `${how} ${name}: no such profile in ${file} (profiles: ${names.join(', ') || 'none'})`,
      remediation: names.length > 0 ? `Use one of: ${names.join(', ')}; 'linus config profiles' lists them.` : "Add one with 'linus config init'.",
    });
  }
  return { name, file, settings };
}

export const CONFIG_HEADER = ' linus settings: named profiles of target flags and VM defaults (docs/config.md).';

// Sets profile <name> to <settings> in <file>, keeping the rest of the file and its comments;
// makes it the default when the file names none (or always with makeDefault 'always');
// replace starts the file afresh.
export interface WriteProfileOptions {
  makeDefault: 'if-none' | 'always' | 'never';
  header?: string;
  replace?: boolean;
}

export function writeProfile(file: string, name: string, settings: Record<string, unknown>, { makeDefault, header, replace = false }: WriteProfileOptions): { madeDefault: boolean } {
  let doc: Document;
  const isNew = replace || !fs.existsSync(file);
  if (!isNew) {
    doc = parseDocument(fs.readFileSync(file, 'utf8'));
    if (doc.errors.length > 0) throw invalid(file, `not valid YAML: ${doc.errors[0]?.message ?? ''}`);
    if (doc.contents === null) doc = new Document({});
  } else {
    // A new file names its default first, as a reader looks for it.
    doc = new Document(makeDefault === 'never' ? { profiles: {} } : { defaultProfile: name, profiles: {} });
    if (header) doc.commentBefore = header;
  }
  doc.setIn(['profiles', name], doc.createNode(settings));
  const named = doc.get('defaultProfile') !== undefined || doc.get('default-profile') !== undefined;
  const madeDefault = makeDefault === 'always' || (makeDefault === 'if-none' && (isNew || !named));
  if (madeDefault) doc.set('defaultProfile', name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, doc.toString(), { mode: 0o600 });
  fs.renameSync(temp, file);
  return { madeDefault };
}
