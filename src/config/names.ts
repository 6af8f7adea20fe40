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
