import { z } from 'zod';
import { LinusError } from '../protocol/errors.js';
import { flagName } from './load.js';
import { matches, PATTERNS, patternSchema, rangeSchema } from './rules.js';
import { vmNameSchema } from './spec.js';

export interface CloneFlags {
  name?: string;
  linked?: boolean;
  vmUser?: string;
  sshKey?: string;
  ip?: string;
  gateway?: string;
  timeout?: number;
  force?: boolean;
}

const cloneSchema = z
  .object({
    templateId: z.number().int().refine((id) => matches('vmid', String(id)), { error: PATTERNS.vmid.rule }),
    name: vmNameSchema,
    vmUser: patternSchema('vmUser').optional(),
    ip: z.union([z.literal('dhcp'), patternSchema('ipv4Cidr')], { error: PATTERNS.ipv4Cidr.rule }).optional(),
    gateway: patternSchema('ipv4').optional(),
    timeout: rangeSchema('timeout').optional(),
  })
  .refine((value) => value.gateway === undefined || (value.ip !== undefined && value.ip !== 'dhcp'), { error: 'only goes with a static --ip', path: ['gateway'] });

export type CloneSpec = z.infer<typeof cloneSchema> & { linked: boolean; force: boolean };

// A clone's settings, checked before anything is sent to the host (which checks them again).
// Its --timeout range is that of a whole clone job, not of a power operation.
export function parseCloneSpec(templateId: number, flags: CloneFlags): CloneSpec {
  const parsed = cloneSchema.safeParse({ templateId, name: flags.name, vmUser: flags.vmUser, ip: flags.ip, gateway: flags.gateway, timeout: flags.timeout });
  if (!parsed.success) {
    const message = parsed.error.issues.map((issue) => `${flagName(String(issue.path[0] ?? 'settings'))}: ${issue.message}`).join('; ');
    throw new LinusError({ code: 'INVALID_SPEC', message, remediation: 'Fix the named option and run again; nothing was sent to the host.' });
  }
  return { ...parsed.data, linked: Boolean(flags.linked), force: Boolean(flags.force) };
}
