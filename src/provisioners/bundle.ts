import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinusError } from '../protocol/errors.js';
import { PROTOCOL_VERSION } from '../protocol/records.js';
import { RULES_LIB, rulesScript } from './rules-script.js';

export const PROVISIONER_NAMES = ['proxmox', 'vm'] as const;
export type ProvisionerName = (typeof PROVISIONER_NAMES)[number];

// Where each entry lives under shell/: the provisioner, and the VM operations (linus vm).
const ENTRY_DIRS: Record<ProvisionerName, string> = { proxmox: 'provision', vm: 'ops' };

// What dist/provisioners/manifest.json records about the one bundled file.
export interface ProvisionerManifest {
  name: ProvisionerName;
  version: string;
  protocol: number;
  file: string;
  bodySha256: string;
  fileSha256: string;
  bytes: number;
}

// A self-contained provisioner: the bytes to upload and the facts the driver checks.
export interface Provisioner extends ProvisionerManifest {
  content: Buffer;
}

const SHEBANG = '#!/usr/bin/env bash';
const LIBS_LINE = /^LINUS_LIBS=\(([a-z0-9 -]+)\) # linus:libs$/;
const VERSION_LINE = /^LINUS_VERSION="[^"]*" # linus:version$/;
const SOURCE_ONLY = /# linus:source-only$/;
const ANY_SOURCE = /^\s*(source|\.)\s/;
const VERSION_FORMAT = /^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function bundleError(message: string): LinusError {
  return new LinusError({ code: 'INTERNAL', message: `provisioner bundle: ${message}` });
}

// Replaces the entry script's `LINUS_LIBS=(x y) # linus:libs` line with lib/x.sh and lib/y.sh in
// that order (the sources load them with a source-only loop), pins the version, and drops
// source-only lines. Anything else that sources a file is refused, so the result never depends on
// files next to it.
export function bundleBody(entry: string, readLib: (relPath: string) => string, version: string): string {
  if (!VERSION_FORMAT.test(version)) throw bundleError(`version '${version}' is not a semantic version`);
  const lines = entry.split('\n');
  if (lines[0] !== SHEBANG) throw bundleError(`the entry must start with '${SHEBANG}'`);
  const out: string[] = [];
  let versions = 0;
  for (const line of lines.slice(1)) {
    const libs = LIBS_LINE.exec(line);
    if (libs) {
      for (const file of (libs[1] ?? '').split(' ').filter(Boolean)) {
        const lib = readLib(`lib/${file}.sh`);
        for (const libLine of lib.split('\n')) {
          if (ANY_SOURCE.test(libLine)) throw bundleError(`lib/${file}.sh sources another file: ${libLine}`);
        }
        out.push(`# --- lib/${file}.sh ---`, ...lib.replace(/\n+$/, '').split('\n').filter((l) => l !== '# shellcheck shell=bash'));
      }
    } else if (VERSION_LINE.test(line)) {
      versions += 1;
      out.push(`LINUS_VERSION="${version}"`);
    } else if (SOURCE_ONLY.test(line)) {
      continue;
    } else if (ANY_SOURCE.test(line)) {
      throw bundleError(`a source line outside the libs loop (list the lib in 'LINUS_LIBS=(...) # linus:libs'): ${line}`);
    } else {
      out.push(line);
    }
  }
  if (versions !== 1) throw bundleError(`expected one '# linus:version' line, found ${versions}`);
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

// Shebang, then the header the driver and humans read, then the body its sha256 covers.
export function assembleProvisioner(name: ProvisionerName, version: string, body: string): Provisioner {
  const bodySha256 = sha256(body);
  const header = `# linus-provisioner name=${name} version=${version} protocol=${PROTOCOL_VERSION} sha256=${bodySha256}`;
  const content = Buffer.from(`${SHEBANG}\n${header}\n${body}`, 'utf8');
  return {
    name,
    version,
    protocol: PROTOCOL_VERSION,
    file: `${name}-${version}-${bodySha256.slice(0, 12)}.sh`,
    bodySha256,
    fileSha256: sha256(content),
    bytes: content.length,
    content,
  };
}

// The package root: the nearest directory above this module with a package.json.
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw bundleError(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export function packageVersion(root = packageRoot()): string {
  const pkg: unknown = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  if (typeof version !== 'string') throw bundleError('package.json has no version');
  return version;
}

function assertName(name: string): asserts name is ProvisionerName {
  if (!(PROVISIONER_NAMES as readonly string[]).includes(name)) {
    throw bundleError(`unknown provisioner '${name}' (known: ${PROVISIONER_NAMES.join(', ')})`);
  }
}

// Bundles shell/provision/<name>.sh with its shell/lib files; lib/rules.sh is generated from the
// TypeScript rules, never read from disk, so the host checks what the driver checks.
export function bundleFromSources(name: string, root = packageRoot(), version = packageVersion(root)): Provisioner {
  assertName(name);
  const shellDir = path.join(root, 'shell');
  const entry = fs.readFileSync(path.join(shellDir, ENTRY_DIRS[name], `${name}.sh`), 'utf8');
  const readLib = (rel: string) => (rel === RULES_LIB ? rulesScript() : fs.readFileSync(path.join(shellDir, rel), 'utf8'));
  const body = bundleBody(entry, readLib, version);
  return assembleProvisioner(name, version, body);
}

// manifest.json describes the proxmox provisioner; the others have manifest-<name>.json.
export function manifestPath(root = packageRoot(), name: ProvisionerName = 'proxmox'): string {
  return path.join(root, 'dist', 'provisioners', name === 'proxmox' ? 'manifest.json' : `manifest-${name}.json`);
}

function readManifest(file: string): ProvisionerManifest {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = raw as Partial<Record<keyof ProvisionerManifest, unknown>>;
  const ok =
    typeof m.name === 'string' && typeof m.version === 'string' && typeof m.protocol === 'number' &&
    typeof m.file === 'string' && typeof m.bodySha256 === 'string' && typeof m.fileSha256 === 'string' &&
    typeof m.bytes === 'number' && /^[\w.-]+\.sh$/.test(m.file);
  if (!ok) throw bundleError(`${file} is not a provisioner manifest`);
  assertName(m.name as string);
  return raw as ProvisionerManifest;
}

// The provisioner the driver uploads: the built file from dist/provisioners (checked against its
// manifest), or, in a source checkout that was not built, a bundle made from shell/ on the fly.
export function loadProvisioner(name: string, root = packageRoot()): Provisioner {
  assertName(name);
  const manifestFile = manifestPath(root, name);
  if (!fs.existsSync(manifestFile)) return bundleFromSources(name, root);
  const manifest = readManifest(manifestFile);
  if (manifest.name !== name) throw bundleError(`${manifestFile} describes '${manifest.name}', not '${name}'`);
  const content = fs.readFileSync(path.join(path.dirname(manifestFile), manifest.file));
  if (sha256(content) !== manifest.fileSha256 || content.length !== manifest.bytes) {
    throw bundleError(`${manifest.file} does not match ${manifestFile}; run 'npm run build'`);
  }
  return { ...manifest, content };
}
