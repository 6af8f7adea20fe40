import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../../../src/util/shell-quote.js';

// Proven by a round trip through real bash, not by the escaped form.
function echoBack(values: string[]): string[] {
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${shellJoin(values)}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

describe('shell quoting', () => {
  const hostile = [
    'plain',
    '',
    "it's",
    'a b',
    '$(reboot)',
    '`id`',
    '"; rm -rf / #',
    'line\nbreak',
    '\\back\\slash',
    '*',
    '~root',
    '-n',
    '!event',
    'ünïcödé',
    "'''",
  ];

  it.each(hostile)('round-trips %j through bash unchanged', (value) => {
    expect(echoBack([value])).toEqual([value]);
  });

  it('keeps separate words separate', () => {
    expect(echoBack(hostile)).toEqual(hostile);
  });

  it('leaves safe words bare so commands stay readable', () => {
    expect(shellQuote('--name')).toBe('--name');
    expect(shellQuote('/var/lib/linus')).toBe('/var/lib/linus');
  });
});
