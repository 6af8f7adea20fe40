import { LinusError } from '../protocol/errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

// '90', '90s', '30m', '1h', '2d' → seconds.
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${flag}: '${value}' is not a duration`, remediation: 'Use seconds or a number with s, m, h or d, such as 90s, 30m, 1h, 2d.' });
  }
  return Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
}
