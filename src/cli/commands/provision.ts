import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseSettings, type Sources } from '../../config/load.js';
import { OS_CATALOG, resolveOs } from '../../config/os-images.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { vmSpecSchema, type Target, type VmSpec } from '../../config/spec.js';
import { provision } from '../../jobs/provision.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import { connect } from '../../ssh/connection.js';
import { createLogger, type LogFormat } from '../logger.js';
import { outcomeJson, progressRenderer, summarize } from '../render.js';
import { withTarget, type ResolvedTarget } from '../target.js';
import { withJsonErrors } from '../json-errors.js';
import { VM_OPTIONS, VM_OPTION_NAMES } from '../vm-options.js';
import { targetOptions, type TargetFlags } from '../target-options.js';

interface ProvisionFlags extends TargetFlags {
  name?: string;
  os?: string;
  cores?: number;
  memory?: number;
  disk?: number;
  vmUser?: string;
  sshKey?: string;
  password?: boolean;
  ip?: string;
  gateway?: string;
  dns?: string;
  searchDomain?: string;
  vlan?: number;
  imageUrl?: string;
  imageSha256?: string;
  timeout?: number;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  logFormat?: LogFormat;
}

const SPEC_KEYS = Object.keys(vmSpecSchema.shape) as (keyof VmSpec)[];

function pick(flags: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => flags[key] !== undefined).map((key) => [key, flags[key]]));
}

// The provisioner's argv: every value was validated by zod and is validated again on the host.
export function provisionerArgs(target: Target, spec: VmSpec, sshKeys: string | undefined, dryRun: boolean): string[] {
  const os = resolveOs(spec.os);
  const args = ['--remote-dir', target.remoteDir, '--node', target.node, '--storage', target.storage, '--bridge', target.bridge];
  args.push('--name', spec.name, '--os', os, '--cores', String(spec.cores), '--memory', String(spec.memory), '--disk', String(spec.disk));
  args.push('--user', spec.vmUser ?? OS_CATALOG[os].user, '--ip', spec.ip, '--timeout', String(spec.timeout));
  if (sshKeys !== undefined) args.push('--ssh-key-b64', Buffer.from(sshKeys).toString('base64'));
  if (spec.password) args.push('--password');
  if (spec.gateway) args.push('--gateway', spec.gateway);
  if (spec.dns) args.push('--dns', spec.dns.trim().split(/\s+/).join(' '));
  if (spec.searchDomain) args.push('--search-domain', spec.searchDomain);
  if (spec.vlan !== undefined) args.push('--vlan', String(spec.vlan));
  if (spec.imageUrl) args.push('--image-url', spec.imageUrl);
  if (spec.imageSha256) args.push('--image-sha256', spec.imageSha256.toLowerCase());
  if (dryRun) args.push('--dry-run');
  return args;
}

async function run(argv: ArgumentsCamelCase<ProvisionFlags>): Promise<void> {
  const sources: Sources = { flags: argv as Record<string, unknown>, env: process.env, ...(argv.config ? { configFile: argv.config } : {}) };
  const provisioner = loadProvisioner('proxmox');
  const tty = Boolean(process.stderr.isTTY) && !argv.json;
  const logFormat: LogFormat = argv.logFormat ?? 'plain';

  await withTarget(argv, sources, async (resolved: ResolvedTarget) => {
    // Validated before anything touches the host.
    const spec = parseSettings(vmSpecSchema, { ...sources, flags: { ...pick(sources.flags, SPEC_KEYS), ...resolved.specDefaults(sources.flags) } });
    const sshKeys = spec.sshKey === undefined ? undefined : readPublicKeys(spec.sshKey);
    const args = provisionerArgs(resolved.target, spec, sshKeys, Boolean(argv.dryRun));
    const logger = await createLogger(logFormat, { name: spec.name });
    const onEvent = progressRenderer({ quiet: Boolean(argv.quiet), tty, ...(logger ? { logger } : {}), write: (text) => process.stderr.write(text) });

    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts += 1;
      if (interrupts === 1) return controller.abort();
      process.stderr.write(
        `\nlinus: stopped waiting. The host job may still be rolling back; VMs it leaves are tagged 'linus' and 'linus-<run id>'.\n  Remove leftovers with: linus gc --older-than 0 --yes (same target flags)\n`,
      );
      process.exit(130);
    };
    process.on('SIGINT', onSigint);
    try {
      const { outcome, stats } = await provision(
        { connect: () => connect(resolved.ssh), provisioner, remoteDir: resolved.target.remoteDir, onEvent, signal: controller.signal },
        args,
      );
      if (tty && !argv.quiet) process.stderr.write('\r\x1b[2K');
      if (argv.json) process.stdout.write(outcomeJson(outcome, { stats }));
      else if (!argv.quiet || !outcome.ok) (outcome.ok ? process.stdout : process.stderr).write(summarize(outcome));
      if (!outcome.ok) process.exitCode = outcome.error.exitCode;
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

const handler = withJsonErrors<ArgumentsCamelCase<ProvisionFlags>>(run);

export const provisionCommand: CommandModule<object, ProvisionFlags> = {
  command: 'provision',
  describe: 'Create a VM from a verified cloud image, boot it and wait until SSH answers',
  builder: (yargs: Argv) =>
    targetOptions(yargs)
      .group(VM_OPTION_NAMES, 'VM:')
      .options({
        ...VM_OPTIONS,
        'dry-run': { type: 'boolean', describe: 'Check everything read-only and print the qm/pvesh commands that would run' },
        json: { type: 'boolean', describe: 'Print one JSON object on stdout at the end' },
        quiet: { type: 'boolean', describe: 'No progress output' },
        'log-format': { type: 'string', choices: ['plain', 'json', 'pretty'] as const, describe: 'Progress on stderr as plain lines, pino JSON or pino-pretty' },
      })
      .example('$0 provision --sandbox --name demo', 'A full provision against a throwaway simulated Proxmox host')
      .example(
        '$0 provision --host pve.lan --identity ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts --node pve --storage local-lvm --bridge vmbr0 --name web01 --os ubuntu --cores 2 --memory 2048 --disk 20 --ssh-key ~/.ssh/id_ed25519.pub',
        'Ubuntu 24.04 on a real host, DHCP',
      )
      .example('$0 provision ... --ip 192.168.1.50/24 --gateway 192.168.1.1 --dns "1.1.1.1" --vlan 20 --json', 'Static address on VLAN 20, JSON result') as unknown as Argv<ProvisionFlags>,
  handler,
};
