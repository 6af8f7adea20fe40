import { LinusError } from '../protocol/errors.js';

// Config files accept every key as camelCase (remoteDir) or kebab-case (remote-dir), the flag's spelling.
export const camelKey = (key: string) => key.replace(/-([a-z0-9])/g, (_all, letter: string) => letter.toUpperCase());

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_value, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

// The known key nearest to <key> (case-insensitive), for "did you mean".
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const wanted = camelKey(key).toLowerCase();
  let best: { key: string; score: number } | undefined;
  for (const candidate of known) {
    const score = distance(wanted, candidate.toLowerCase());
    if (!best || score < best.score) best = { key: candidate, score };
  }
  return best && best.score <= Math.max(2, Math.floor(wanted.length / 3)) ? best.key : undefined;
}

// <data> with camelCase keys; an unknown key, or one given in both spellings, is CONFIG_INVALID.
export function normalizeKeys(data: Record<string, unknown>, known: readonly string[], where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const camel = camelKey(key);
    if (!known.includes(camel)) {
      const near = closestKey(key, known);
      throw new LinusError({
        code: 'CONFIG_INVALID',
        message: `${where}: unknown setting '${key}'${near ? ` (did you mean ${near}?)` : ''}`,
        remediation: `Known settings: ${known.join(', ')} (camelCase or kebab-case).`,
      });
    }
    if (camel in out) throw new LinusError({ code: 'CONFIG_INVALID', message: `${where}: '${camel}' is given twice (camelCase and kebab-case)`, remediation: 'Keep one of the two.' });
    out[camel] = value;
  }
  return out;
}
