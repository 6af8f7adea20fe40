import type { TextOut } from './io.js';

export const COLOR_MODES = ['auto', 'always', 'never'] as const;
export type ColorMode = (typeof COLOR_MODES)[number];

// --color auto (the default): on a terminal unless NO_COLOR is set to anything non-empty
// (no-color.org) or TERM is dumb; never when piped. always/never win over NO_COLOR, as the
// convention has a flag win over the environment.
export function colorEnabled(out: TextOut, env: NodeJS.ProcessEnv, mode: ColorMode = 'auto'): boolean {
  if (mode !== 'auto') return mode === 'always';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(out.isTTY);
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 } as const;
export type Tone = keyof typeof CODES;

// Wraps text in one SGR colour, or leaves it as it is when colour is off.
export type Paint = (tone: Tone, text: string) => string;

export function painter(enabled: boolean): Paint {
  return enabled ? (tone, text) => `\x1b[${CODES[tone]}m${text}\x1b[${tone === 'dim' ? 22 : 39}m` : (_tone, text) => text;
}
