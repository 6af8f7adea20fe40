import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assembleProvisioner,
  bundleBody,
  bundleFromSources,
  loadProvisioner,
  packageRoot,
  packageVersion,
  sha256,
} from '../../../src/provisioners/bundle.js';

const ENTRY = [
  '#!/usr/bin/env bash',
  '{',
  'LINUS_VERSION="0.0.0-dev" # linus:version',
  'LIB_DIR="$(dirname "$0")/../lib" # linus:source-only',
  'LINUS_LIBS=(a b) # linus:libs',
  'for lib in "${LINUS_LIBS[@]}"; do source "$LIB_DIR/$lib.sh"; done # linus:source-only',
  'main() { hello; }',
  '}',
  '',
].join('\n');
const LIBS: Record<string, string> = {
  'lib/a.sh': '# shellcheck shell=bash\nhello() { echo "hi $LINUS_VERSION"; }\n',
  'lib/b.sh': '# shellcheck shell=bash\nB=1\n',
};
const readLib = (rel: string): string => {
  const text = LIBS[rel];
  if (text === undefined) throw new Error(`no ${rel}`);
  return text;
};

describe('bundleBody', () => {
  it('inlines marked includes, pins the version and drops source-only lines', () => {
    const body = bundleBody(ENTRY, readLib, '1.2.3');
    expect(body).toBe(['{', 'LINUS_VERSION="1.2.3"', '# --- lib/a.sh ---', 'hello() { echo "hi $LINUS_VERSION"; }', '# --- lib/b.sh ---', 'B=1', 'main() { hello; }', '}', ''].join('\n'));
  });

  it('refuses unmarked or mismatched source lines, sourcing libs and a missing version line', () => {
    expect(() => bundleBody(ENTRY.replace('main()', 'source "$LIB_DIR/a.sh"\nmain()'), readLib, '1.2.3')).toThrow(/a source line outside the libs loop/);
    expect(() => bundleBody(ENTRY.replace('(a b)', '(a c)'), readLib, '1.2.3')).toThrow(/no lib\/c\.sh/);
    expect(() => bundleBody(ENTRY, () => '. /etc/profile\n', '1.2.3')).toThrow(/sources another file/);
    expect(() => bundleBody(ENTRY.replace(' # linus:version', ''), readLib, '1.2.3')).toThrow(/one '# linus:version' line/);
    expect(() => bundleBody(ENTRY.replace('#!/usr/bin/env bash', '#!/bin/sh'), readLib, '1.2.3')).toThrow(/must start/);
    expect(() => bundleBody(ENTRY, readLib, '1.2.3"; rm -rf /; "')).toThrow(/semantic version/);
  });
});

describe('assembleProvisioner', () => {
  it('puts the header with the body checksum on line 2 and names the file after it', () => {
    const body = bundleBody(ENTRY, readLib, '1.2.3');
    const p = assembleProvisioner('proxmox', '1.2.3', body);
    const lines = p.content.toString('utf8').split('\n');
    expect(lines[0]).toBe('#!/usr/bin/env bash');
    expect(lines[1]).toBe(`# linus-provisioner name=proxmox version=1.2.3 protocol=1 sha256=${sha256(body)}`);
    expect(lines.slice(2).join('\n')).toBe(body);
    expect(p.file).toBe(`proxmox-1.2.3-${sha256(body).slice(0, 12)}.sh`);
    expect(p.fileSha256).toBe(sha256(p.content));
    expect(p.bytes).toBe(p.content.length);
  });
});

describe('the real provisioner', () => {
  const root = packageRoot();

  it('bundles into one file that bash can parse and that needs no lib directory', () => {
    const p = bundleFromSources('proxmox', root);
    expect(p.version).toBe(packageVersion(root));
    const text = p.content.toString('utf8');
    expect(text).not.toMatch(/^\s*(source|\.)\s/m);
    expect(text).not.toContain('linus:source-only');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-bundle-'));
    const file = path.join(dir, p.file);
    fs.writeFileSync(file, p.content);
    const out = execFileSync('bash', [file, 'version'], { encoding: 'utf8' });
    expect(out.split('\n')).toEqual([
      'LINUS_PROTOCOL:1',
      `LINUS_VERSION:${p.version}`,
      'LINUS_PROVISIONER:proxmox',
      `LINUS_BODY_SHA256:${p.bodySha256}`,
      'LINUS_END',
      '',
    ]);
  });

  it('loadProvisioner returns the built file when a manifest exists, checked against it', () => {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-root-'));
    fs.cpSync(path.join(root, 'shell'), path.join(fake, 'shell'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'package.json'), JSON.stringify({ version: '9.8.7' }));
    const fromSources = loadProvisioner('proxmox', fake);
    expect(fromSources.version).toBe('9.8.7');

    const out = path.join(fake, 'dist', 'provisioners');
    fs.mkdirSync(out, { recursive: true });
    const { content, ...manifest } = fromSources;
    fs.writeFileSync(path.join(out, manifest.file), content);
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest));
    expect(loadProvisioner('proxmox', fake).fileSha256).toBe(manifest.fileSha256);

    fs.appendFileSync(path.join(out, manifest.file), '# tampered\n');
    expect(() => loadProvisioner('proxmox', fake)).toThrow(/does not match/);
    expect(() => loadProvisioner('vmware', fake)).toThrow(/unknown provisioner/);
  });
});
