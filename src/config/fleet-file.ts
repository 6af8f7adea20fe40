import fs from 'node:fs';
import path from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { normalizeKeys } from './keys.js';
import { expandNames } from './names.js';
import { LIMITS, PATTERNS, patternSchema, RANGES } from './rules.js';
import { targetSchema, vmSpecSchema, type VmSpec } from './spec.js';
import { expandHome, homeOf } from './ssh-config.js';

// A fleet file (docs/fleets.md): the VMs a lab should have. Every provision setting is a key, by
// the config file's names; `target:` holds what a profile or the target flags would give.

const optional = (schema: z.ZodType) => (schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema).optional();
const { name: _name, ...specShape } = vmSpecSchema.shape;

// Where a VM goes and what it says about itself, beside its spec.
const placementShape = {
  node: optional(targetSchema.shape.node),
  storage: optional(targetSchema.shape.storage),
  bridge: optional(targetSchema.shape.bridge),
  description: patternSchema('oneLine').refine((text) => Buffer.byteLength(text) <= LIMITS.maxDescriptionBytes, { error: `must be at most ${LIMITS.maxDescriptionBytes} bytes` }).optional(),
  tags: z.array(patternSchema('vmTag').refine((tag) => !tag.startsWith('linus'), { error: "must not start with 'linus': those are linus' own ownership tags" })).optional(),
};

const settingsShape = {
  ...Object.fromEntries(Object.entries(specShape).map(([key, schema]) => [key, optional(schema as z.ZodType)])),
  ...placementShape,
};
const SETTING_KEYS = Object.keys(settingsShape);

const vmEntrySchema = z
  .object({
    name: z.string().min(1),
    count: z.number().int().min(RANGES.count.min).max(RANGES.count.max).optional(),
    ...settingsShape,
  })
  .strict();

export const FLEET_NAME_RULE = PATTERNS.fleetName.rule;
export const fleetNameSchema = patternSchema('fleetName');

const fleetFileSchema = z
  .object({
    fleet: fleetNameSchema,
    target: z.object(Object.fromEntries(Object.entries(targetSchema.shape).map(([key, schema]) => [key, optional(schema as z.ZodType)]))).strict().optional(),
    defaults: z.object(settingsShape).strict().optional(),
    vms: z.array(vmEntrySchema).min(1, { error: 'must list at least one VM' }),
  })
  .strict();

export type FleetPlacement = { node?: string; storage?: string; bridge?: string; description?: string; tags?: string[] };

// One VM the file asks for, after defaults and {n}: its full provision spec and placement.
export interface FleetVm extends FleetPlacement {
  name: string;
  spec: VmSpec;
  // The file's line that names it, for messages.
  line: number;
  // The settings the file itself gives this VM (in defaults or its entry): a plan compares some
  // of them (storage, bridge, cpu, vmUser, tags, description, imageSha256) only when named.
  named: string[];
  // Why the VM cannot be created as the file stands ("file:line:col: ..."): a VM `linus import`
  // wrote has no sshKey. Planned as unchanged it is fine; apply refuses to create or replace it.
  cannotCreate?: string;
}

// Fills in what the file leaves out from elsewhere (the profile's key and images), before the
// spec is checked.
export type FleetCompletion = (settings: Record<string, unknown>) => Record<string, unknown>;

export interface Fleet {
  file: string;
  name: string;
  // The tag every VM of the fleet carries.
  tag: string;
  // Target settings from the file's `target:` block (below flags, environment and --config).
  target: Record<string, unknown>;
  vms: FleetVm[];
}

export const fleetTag = (name: string) => `linus-fleet-${name}`;

// The fleets a VM is in: the <name> of its linus-fleet-<name> tags (compared lowercase: Proxmox may
// keep a tag's case).
export const fleetsOf = (tags: readonly string[]) =>
  tags.map((tag) => tag.toLowerCase()).filter((tag) => tag.startsWith(fleetTag(''))).map((tag) => tag.slice(fleetTag('').length));

const PATH_KEYS = ['sshKey'];
const TARGET_PATH_KEYS = ['identity', 'knownHosts'];

function invalid(where: string, message: string): LinusError {
  return new LinusError({ code: 'CONFIG_INVALID', message: `${where}: ${message}`, remediation: 'Fix the fleet file (see docs/fleets.md); nothing was sent to the host.' });
}

// "file:line:col" of the node at <at> (or of the nearest parent that exists).
function locate(doc: Document, lines: LineCounter, file: string, at: (string | number)[]): string {
  for (let depth = at.length; depth >= 0; depth -= 1) {
    const node = doc.getIn(at.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0] ?? (depth === 0 ? 0 : undefined);
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return `${file}:${line}:${col}`;
    }
  }
  return file;
}

// A map's keys in camelCase (kebab accepted), with "did you mean" for unknown ones.
function normalizeMap(value: unknown, known: string[], where: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? normalizeKeys(value as Record<string, unknown>, known, where) : value;
}

// The spec's own checks without the cross-field ones, for a VM that cannot be created as it stands.
const specFieldsSchema = z.object(vmSpecSchema.shape).strict();

export function parseFleet(text: string, file: string, env: NodeJS.ProcessEnv, complete: FleetCompletion = (settings) => settings): Fleet {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    throw invalid(`${file}:${line}:${col}`, `not valid YAML: ${error.message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) throw invalid(locate(doc, lines, file, []), 'must be a map with fleet, vms and optionally target and defaults');
  const raw = doc.toJS() as Record<string, unknown>;
  const keyError = (at: (string | number)[], fn: () => unknown) => {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof LinusError) throw invalid(locate(doc, lines, file, at), cause.message.replace(/^[^:]*: /, ''));
      throw cause;
    }
  };
  const top = keyError([], () => normalizeKeys(raw, ['fleet', 'target', 'defaults', 'vms'], 'the file')) as Record<string, unknown>;
  top.target = keyError(['target'], () => normalizeMap(top.target, Object.keys(targetSchema.shape), 'target'));
  top.defaults = keyError(['defaults'], () => normalizeMap(top.defaults, SETTING_KEYS, 'defaults'));
  if (Array.isArray(top.vms)) top.vms = top.vms.map((vm, index) => keyError(['vms', index], () => normalizeMap(vm, ['name', 'count', ...SETTING_KEYS], `vms[${index}]`)));
  const parsed = fleetFileSchema.safeParse(top);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const at = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
    const vm = at[0] === 'vms' && typeof at[1] === 'number' ? (top.vms as Record<string, unknown>[])[at[1]]?.name : undefined;
    const what = typeof vm === 'string' && at.length > 2 ? `${vm}: ${at.slice(2).join('.')}` : at.join('.') || 'the file';
    throw invalid(locate(doc, lines, file, at), `${what}: ${issue.message}`);
  }
  const home = homeOf(env);
  const withPaths = (settings: Record<string, unknown>) => {
    const out = { ...settings };
    // A key file named relative to the fleet file, as a reader of the file would take it.
    for (const key of PATH_KEYS) if (typeof out[key] === 'string') out[key] = path.resolve(path.dirname(file), expandHome(out[key], home));
    return out;
  };
  const defaults = withPaths(parsed.data.defaults ?? {});
  const vms: FleetVm[] = [];
  const seen = new Map<string, number>();
  parsed.data.vms.forEach((entry, index) => {
    const { name: pattern, count, ...own } = entry as { name: string; count?: number } & Record<string, unknown>;
    const where = locate(doc, lines, file, ['vms', index]);
    const line = Number(where.split(':').at(-2));
    let names: string[];
    try {
      names = count === undefined && !pattern.includes('{n}') ? [pattern] : expandNames(pattern, count ?? 1);
    } catch (cause) {
      throw invalid(where, (cause as LinusError).message.replace('--count', 'count').replace('--name', 'name'));
    }
    const settings = { ...defaults, ...withPaths(own) };
    const { node, storage, bridge, description, tags, ...spec } = settings as FleetPlacement & Record<string, unknown>;
    const named = Object.keys(settings).sort();
    for (const name of names) {
      const wanted: Record<string, unknown> = { ...complete(spec), name };
      const locateIssue = (issue: z.core.$ZodIssue) => {
        const key = String(issue.path[0] ?? 'name');
        const keyAt = key in own || key === 'name' ? ['vms', index, key] : key in defaults ? ['defaults', key] : ['vms', index];
        return invalid(locate(doc, lines, file, keyAt), `${name}: ${key}: ${issue.message}`);
      };
      const checked = vmSpecSchema.safeParse(wanted);
      let cannotCreate: string | undefined;
      let vmSpec: VmSpec;
      if (checked.success) vmSpec = checked.data;
      else {
        // Only a missing key leaves a VM that can still be compared: every other issue is an error.
        const missingKey = (candidate: z.core.$ZodIssue) => candidate.path[0] === 'sshKey' && wanted.sshKey === undefined;
        const other = checked.error.issues.find((candidate) => !missingKey(candidate));
        if (other) throw locateIssue(other);
        const issue = checked.error.issues[0] as z.core.$ZodIssue;
        const fields = specFieldsSchema.safeParse(wanted);
        if (!fields.success) throw locateIssue(fields.error.issues[0] as z.core.$ZodIssue);
        vmSpec = fields.data;
        cannotCreate = locateIssue(issue).message;
      }
      if (seen.has(name)) throw invalid(where, `${name} is named twice (first on line ${seen.get(name)})`);
      seen.set(name, line);
      vms.push({ name, spec: vmSpec, line, named, ...(cannotCreate === undefined ? {} : { cannotCreate }), ...defined({ node, storage, bridge, description, tags }) });
    }
  });
  const target: Record<string, unknown> = { ...(parsed.data.target ?? {}) };
  for (const key of TARGET_PATH_KEYS) if (typeof target[key] === 'string') target[key] = path.resolve(path.dirname(file), expandHome(target[key], home));
  return { file, name: parsed.data.fleet, tag: fleetTag(parsed.data.fleet), target, vms };
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

export function readFleet(file: string, env: NodeJS.ProcessEnv, complete?: FleetCompletion): Fleet {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `cannot read the fleet file ${file}: ${(cause as Error).message}`, remediation: 'Pass an existing fleet YAML file to -f.', cause });
  }
  return parseFleet(text, file, env, complete);
}
