import { z } from 'zod';
import { flagName } from '../config/load.js';
import { matches, PATTERNS, patternSchema, rangeSchema } from '../config/rules.js';
import { vmNameSchema } from '../config/spec.js';
import type { ProgressEvent } from '../jobs/follow.js';
import { provision, type ProvisionStats } from '../jobs/provision.js';
import { LinusError } from '../protocol/errors.js';
import type { ProvisionOutcome } from '../protocol/transcript.js';
import type { ProvisionerFile } from '../provisioners/remote.js';
import { connect, type SshTarget } from '../ssh/connection.js';
import { otherNodeTarget, type NodeAddress } from './nodes.js';

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

// The vm script's `run` arguments for a clone; validated here first, and again on the host.
export function cloneArgs(templateId: number, flags: CloneFlags, sshKeys: string | undefined): string[] {
  const parsed = cloneSchema.safeParse({ templateId, name: flags.name, vmUser: flags.vmUser, ip: flags.ip, gateway: flags.gateway, timeout: flags.timeout });
  if (!parsed.success) {
    const message = parsed.error.issues.map((issue) => `${flagName(String(issue.path[0] ?? 'settings'))}: ${issue.message}`).join('; ');
    throw new LinusError({ code: 'INVALID_SPEC', message, remediation: 'Fix the named option and run again; nothing was sent to the host.' });
  }
  const spec = parsed.data;
  const args = ['--template', String(spec.templateId), '--name', spec.name];
  if (flags.linked) args.push('--linked');
  if (spec.vmUser) args.push('--user', spec.vmUser);
  if (sshKeys !== undefined) args.push('--ssh-key-b64', Buffer.from(sshKeys).toString('base64'));
  if (spec.ip) args.push('--ip', spec.ip);
  if (spec.gateway) args.push('--gateway', spec.gateway);
  if (spec.timeout !== undefined) args.push('--timeout', String(spec.timeout));
  if (flags.force) args.push('--force');
  return args;
}

export interface CloneDeps {
  ssh: SshTarget;
  script: ProvisionerFile;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
  onEvent: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

// A clone runs as a host job through the provisioning pipeline (run/wait/cancel/cleanup, retries
// of transient failures, reconnects), on the node that holds the template.
export async function cloneVm(deps: CloneDeps, args: string[]): Promise<{ outcome: ProvisionOutcome; stats: ProvisionStats }> {
  const { remoteDir } = deps;
  const onNode = (ssh: SshTarget) =>
    provision({ connect: () => connect(ssh), provisioner: deps.script, remoteDir, onEvent: deps.onEvent, ...(deps.signal ? { signal: deps.signal } : {}) }, [...args, '--remote-dir', remoteDir]);
  const first = await onNode(deps.ssh);
  const other = first.outcome.ok ? undefined : otherNodeTarget(first.outcome.otherNode, deps.ssh, deps.nodeAddresses);
  return other ? onNode(other.ssh) : first;
}
