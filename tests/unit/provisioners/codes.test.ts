import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PLAN_CHANGES_EXIT_CODE } from '../../../src/protocol/codes.js';
import { packageRoot } from '../../../src/provisioners/bundle.js';

const root = packageRoot();

// The shell copy: the heredoc between `<<'TABLE'` and `TABLE` in shell/lib/result.sh.
function shellTable(): Record<string, { exitCode: number; remediation: string }> {
  const text = fs.readFileSync(path.join(root, 'shell', 'lib', 'result.sh'), 'utf8');
  const body = /<<'TABLE'\n([\s\S]*?)\nTABLE\n/.exec(text)?.[1];
  if (body === undefined) throw new Error('no TABLE heredoc in shell/lib/result.sh');
  const rows = body.split('\n').map((line) => {
    const [code, exit, ...rest] = line.split('|');
    return [code, { exitCode: Number(exit), remediation: rest.join('|') }] as const;
  });
  return Object.fromEntries(rows);
}

// The rows of the exit-code table in docs/protocol.md: | `CODE` | exit | remediation |.
function docsTable(): Record<string, { exitCode: number; remediation: string }> {
  const text = fs.readFileSync(path.join(root, 'docs', 'protocol.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (.*) \|$/gm)];
  return Object.fromEntries(rows.map((m) => [m[1], { exitCode: Number(m[2]), remediation: (m[3] ?? '').replaceAll('\\|', '|') }]));
}

const expected = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([code, entry]) => [code, { exitCode: entry.exitCode, remediation: entry.remediation }]),
);

describe('error code tables', () => {
  it('shell/lib/result.sh mirrors src/protocol/codes.ts exactly', () => {
    expect(shellTable()).toEqual(expected);
  });

  it('docs/protocol.md lists every code with its exit code and remediation', () => {
    expect(docsTable()).toEqual(expected);
  });

  it('keeps remediations free of the table separator', () => {
    for (const entry of Object.values(ERROR_CODES)) expect(entry.remediation).not.toContain('|');
  });

  it("keeps `linus plan --detailed-exitcode`'s code for changes apart from every error's", () => {
    expect(Object.values(ERROR_CODES).map((entry) => entry.exitCode)).not.toContain(PLAN_CHANGES_EXIT_CODE);
    expect([0, 1]).not.toContain(PLAN_CHANGES_EXIT_CODE);
  });
});
