import { z } from 'zod';
import { flagName } from './load.js';
import { LIMITS, matches, PATTERNS, RANGES, patternSchema, type RangeName } from './rules.js';
import { LinusError } from '../protocol/errors.js';

// The values of `linus vm ...` flags, checked before anything is sent to the host (which checks
// them again by the same rules, config/rules.ts, in shell/lib/ops-*.sh).
const vmid = z.number({ error: 'must be a VM ID' }).refine((id) => matches('vmid', String(id)), { error: PATTERNS.vmid.rule });
const intIn = (name: RangeName) => {
  const { min, max } = RANGES[name];
  const rule = { error: `must be an integer from ${min} to ${max}` };
  return z.number(rule).int(rule).min(min, rule).max(max, rule);
};

export const vmFlagsSchema = z.object({
  id: vmid,
  templateId: vmid,
  timeout: intIn('stateTimeout'),
  cores: intIn('cores'),
  memory: intIn('vmMemory'),
  name: patternSchema('vmName'),
  description: patternSchema('oneLine').refine((text) => Buffer.byteLength(text) <= LIMITS.maxDescriptionBytes, { error: `must be at most ${LIMITS.maxDescriptionBytes} bytes` }),
  size: patternSchema('size'),
  disk: patternSchema('diskId'),
}).partial();

// Throws INVALID_SPEC naming every bad flag; flags that were not given are not checked.
export function checkVmFlags(argv: object): void {
  const flags = new Map(Object.entries(argv));
  const given = Object.fromEntries(Object.keys(vmFlagsSchema.shape).filter((key) => flags.get(key) !== undefined).map((key) => [key, flags.get(key)]));
  const parsed = vmFlagsSchema.safeParse(given);
  if (parsed.success) return;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const shown = key === 'id' || key === 'templateId' ? `the ${key === 'id' ? 'VM ID' : 'template ID'}` : flagName(key);
    const value = given[key];
    return `${shown}: ${issue.message}, got ${Number.isNaN(value) ? 'something that is not a number' : JSON.stringify(value)}`;
  });
  throw new LinusError({ code: 'INVALID_SPEC', message: lines.join('; '), remediation: 'Fix the named value and run again; nothing was sent to the host.' });
}
