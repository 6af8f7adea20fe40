import { z } from 'zod';
import { ERROR_CODES } from '../protocol/codes.js';
import { errorCodeSchema } from '../protocol/codes.js';
import { LinusError } from '../protocol/errors.js';
import { PROTOCOL_VERSION } from '../protocol/lines.js';
import type { ErrorReport } from '../protocol/result.js';

// What one `vm.sh <op>` run printed: LINUS_DATA objects of the success block, LINUS_WARNING lines,
// and the human log lines; or the failure block's error.
export type OpOutcome =
  | { ok: true; data: unknown[]; warnings: string[]; logs: string[] }
  | { ok: false; error: ErrorReport; warnings: string[]; logs: string[] };

const LINE = /^LINUS_([A-Z_0-9]+)(?::(.*))?$/;

function protocolError(message: string): LinusError {
  return new LinusError({ code: 'PROTOCOL_ERROR', message });
}

// Folds the lines of one operation; a missing protocol line or final block is a PROTOCOL_ERROR
// (the output was cut), even when the command exited 0.
export function parseOpOutput(lines: readonly string[]): OpOutcome {
  let protocol: number | undefined;
  let final: Array<[string, string]> | undefined;
  let ended = false;
  const warnings: string[] = [];
  const logs: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    const match = LINE.exec(line);
    if (!match) {
      if (line !== '') logs.push(line);
      continue;
    }
    const [, key = '', value = ''] = match;
    if (key === 'PROTOCOL') {
      protocol = Number(value);
      if (protocol !== PROTOCOL_VERSION) throw protocolError(`the host speaks LINUS protocol ${value}; this linus speaks ${PROTOCOL_VERSION}`);
    } else if (key === 'WARNING') {
      warnings.push(value);
    } else if (key === 'RESULT') {
      final = [[key, value]];
      ended = false;
    } else if (key === 'END') {
      ended = final !== undefined;
    } else if (final && !ended) {
      final.push([key, value]);
    }
  }
  if (protocol === undefined) throw protocolError('the host printed no LINUS_PROTOCOL line: is this linus\' vm script?');
  if (!final || !ended) throw protocolError('the host output ended without a final LINUS_RESULT block (connection lost or script killed)');
  const get = (key: string) => final?.find(([k]) => k === key)?.[1];
  if (get('RESULT') === 'SUCCESS') {
    const data = final.filter(([k]) => k === 'DATA').map(([, v]) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        throw protocolError(`malformed LINUS_DATA line from the host: ${v.slice(0, 200)}`);
      }
    });
    return { ok: true, data, warnings, logs };
  }
  if (get('RESULT') !== 'FAILURE') throw protocolError(`unexpected LINUS_RESULT:${get('RESULT') ?? ''}`);
  const code = errorCodeSchema.safeParse(get('ERROR_CODE'));
  if (!code.success) throw protocolError(`unknown LINUS_ERROR_CODE:${get('ERROR_CODE') ?? ''}`);
  const exit = z.coerce.number().int().nonnegative().safeParse(get('EXIT'));
  return {
    ok: false,
    error: {
      code: code.data,
      exitCode: exit.success ? exit.data : ERROR_CODES[code.data].exitCode,
      message: get('ERROR') ?? 'no message',
      remediation: get('REMEDIATION') ?? ERROR_CODES[code.data].remediation,
    },
    warnings,
    logs,
  };
}
