import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PATTERNS } from '../../../src/config/rules.js';
import { bundleFromSources, packageRoot } from '../../../src/provisioners/bundle.js';
import { RULES_LIB, rulesScript } from '../../../src/provisioners/rules-script.js';

describe('shell/lib/rules.sh, generated from the TypeScript rules', () => {
  it('is committed as the build writes it', () => {
    const committed = fs.readFileSync(path.join(packageRoot(), 'shell', RULES_LIB), 'utf8');
    expect(committed, 'shell/lib/rules.sh is stale: run npm run build and commit it').toBe(rulesScript());
  });

  it('goes into every bundle from the generator, never from the file on disk', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-rules-root-'));
    try {
      fs.cpSync(path.join(packageRoot(), 'shell'), path.join(root, 'shell'), { recursive: true });
      fs.copyFileSync(path.join(packageRoot(), 'package.json'), path.join(root, 'package.json'));
      fs.writeFileSync(path.join(root, 'shell', RULES_LIB), "# shellcheck shell=bash\nreadonly VM_NAME_RE='^.*$' # edited by hand\n");
      for (const name of ['proxmox', 'vm']) {
        const text = bundleFromSources(name, root).content.toString('utf8');
        expect(text).toContain(rulesScript().replace('# shellcheck shell=bash\n', '').trimEnd());
        expect(text).not.toContain('edited by hand');
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('holds patterns bash and JavaScript read alike', () => {
    for (const [name, { re }] of Object.entries(PATTERNS)) {
      expect(re, name).toMatch(/^\^.*\$$/);
      // Escapes other than \. \+ and classes other than [:cntrl:] mean different things in ERE and JS.
      expect(re, name).not.toMatch(/\\[^.+]|\(\?|\[:(?!cntrl:\])/);
      for (const bracket of re.matchAll(/\[[^\]]*\]/g)) expect(bracket[0], name).not.toContain('\\');
    }
    // [[ =~ ]] answers 2 for a pattern bash cannot compile.
    const script = `set -u; source "$1"; for re in "\${@:2}"; do [[ "" =~ \${!re} ]]; echo $?; done`;
    const names = Object.keys(PATTERNS).map((name) => `${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_RE`);
    const out = execFileSync('bash', ['-c', script, 'rules', path.join(packageRoot(), 'shell', RULES_LIB), ...names], { encoding: 'utf8' });
    expect(out.trimEnd().split('\n').filter((status) => status !== '0' && status !== '1')).toEqual([]);
    expect(out.trimEnd().split('\n')).toHaveLength(names.length);
  });
});
