import { LinusError } from '../protocol/errors.js';
import { RANGES } from './rules.js';

export const MAX_COUNT = RANGES.count.max;

// --name dev-{n} with --count N: dev-1 .. dev-N. Without {n} only one VM can be named.
export function expandNames(template: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--count: must be an integer from 1 to ${MAX_COUNT}`, remediation: 'Fix the named parameter and run again.' });
  }
  if (count > 1 && template === '') {
    throw new LinusError({ code: 'INVALID_SPEC', message: `--count ${count} needs --name with {n}, e.g. --name dev-{n}`, remediation: 'Pass a name pattern such as --name dev-{n}; {n} becomes 1..N.' });
  }
  if (count > 1 && !template.includes('{n}')) {
    throw new LinusError({
      code: 'INVALID_SPEC',
      message: `--name: with --count ${count} the name must contain {n} (e.g. ${JSON.stringify(`${template}-{n}`)}), got ${JSON.stringify(template)}`,
      remediation: 'Pass a name pattern such as --name dev-{n}; {n} becomes 1..N.',
    });
  }
  return Array.from({ length: count }, (_, index) => template.replaceAll('{n}', String(index + 1)));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

// The number {n} stands for in <name>, or undefined when <name> is not of <pattern> (every {n}
// the same number, written without leading zeros: what expandNames and the host's `place
// --names` make).
export function numberIn(pattern: string, name: string): number | undefined {
  const parts = pattern.split('{n}');
  if (parts.length < 2) return undefined;
  const match = new RegExp(`^${escape(parts[0] as string)}([1-9][0-9]{0,8})${parts.slice(1).map(escape).join('\\1')}$`).exec(name);
  return match ? Number(match[1]) : undefined;
}

// The name of <pattern> with the highest number among <names>.
export function highestName(pattern: string, names: readonly string[]): string | undefined {
  let best: { name: string; n: number } | undefined;
  for (const name of names) {
    const n = numberIn(pattern, name);
    if (n !== undefined && (best === undefined || n > best.n)) best = { name, n };
  }
  return best?.name;
}
