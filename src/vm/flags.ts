import { z } from 'zod';
import { flagName } from '../config/load.js';
import { LinusError } from '../protocol/errors.js';

// The values of `linus vm ...` flags, checked before anything is sent to the host (which checks
// them again, with the same limits, in shell/lib/ops-*.sh).
const vmid = z.number({ error: 'must be a VM ID' }).int({ error: 'must be a VM ID' }).min(100, { error: 'must be a VM ID from 100 to 999999999' }).max(999_999_999, { error: 'must be a VM ID from 100 to 999999999' });
const intIn = (min: number, max: number) => {
  const rule = { error: `must be an integer from ${min} to ${max}` };
  return z.number(rule).int(rule).min(min, rule).max(max, rule);
};

export const vmFlagsSchema = z.object({
  id: vmid,
  templateId: vmid,
  timeout: intIn(1, 3600),
  cores: intIn(1, 128),
  memory: intIn(64, 4_194_304),
  name: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, { error: 'must be a DNS label (letters, digits, inner hyphens, at most 63)' }),
  description: z.string().max(8000, { error: 'must be at most 8000 characters' }).regex(/^[^\p{Cc}]*$/u, { error: 'must be one line without control characters' }),
  size: z.string().regex(/^\+?[1-9][0-9]{0,5}$/, { error: 'must be GiB (e.g. 40) or +GiB (e.g. +10)' }),
  disk: z.string().regex(/^(scsi|virtio|sata|ide)[0-9]{1,2}$/, { error: 'must be a disk such as scsi0' }),
}).partial();

// Throws INVALID_SPEC naming every bad flag; flags that were not given are not checked.
export function checkVmFlags(argv: Record<string, unknown>): void {
  const given = Object.fromEntries(Object.keys(vmFlagsSchema.shape).filter((key) => argv[key] !== undefined).map((key) => [key, argv[key]]));
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
