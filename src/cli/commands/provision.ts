import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { describeOf } from './index.js';
import { commandSources, parseSettings, type Sources } from '../../config/load.js';
import { OS_CATALOG, resolveOs } from '../../config/os-images.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { vmSpecSchema, type Target, type VmSpec } from '../../config/spec.js';
import { provision, type ProvisionStats } from '../../jobs/provision.js';
import { errorText, toLinusError } from '../../protocol/errors.js';
import type { ProvisionOutcome } from '../../protocol/transcript.js';
import { parseNodeAddresses } from '../../vm/nodes.js';
import { expandNames, MAX_COUNT, place, sshForNode } from '../../vm/placement.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import { connect } from '../../ssh/connection.js';
import { createLogger, type LogFormat } from '../logger.js';
import { outcomeJson, printWarnings, progressRenderer, summarize } from '../render.js';
import { withTarget, type ResolvedTarget } from '../target.js';
import { withJsonErrors } from '../json-errors.js';
import { VM_OPTIONS, VM_OPTION_NAMES } from '../vm-options.js';
import { targetOptions, type TargetFlags } from '../target-options.js';

// The VM flags are named after the spec's settings (VM_OPTIONS), so their types are the spec's.
interface ProvisionFlags extends TargetFlags, Partial<VmSpec> {
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  logFormat?: LogFormat;
  count?: number;
  force?: boolean;
}

// The provisioner's argv: every value was validated by zod and is validated again on the host.
// capacity: 'check' the 80/90 % thresholds on the host, 'force' past 90 %, or 'placed' (vm.sh place did).
export function provisionerArgs(target: Target, spec: VmSpec, sshKeys: string | undefined, dryRun: boolean, capacity: 'check' | 'force' | 'placed' = 'check'): string[] {
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
  args.push('--cpu', spec.cpu);
  if (spec.upgrade) args.push('--upgrade');
  if (target.snippetsStorage) args.push('--snippets-storage', target.snippetsStorage);
  if (capacity !== 'check') args.push('--capacity', capacity);
  if (dryRun) args.push('--dry-run');
  return args;
}

// One VM of the run: its name, the node placement chose and its own provision (run id, rollback).
interface VmRun {
  name: string;
  node: string;
  outcome: ProvisionOutcome;
  stats: ProvisionStats;
}

function specFor(sources: Sources, resolved: ResolvedTarget, name: string | undefined): VmSpec {
  const flags = { ...sources.flags, ...(name === undefined ? {} : { name }), ...resolved.specDefaults(sources.flags) };
  return parseSettings(vmSpecSchema, { ...sources, flags });
}

async function run(argv: ArgumentsCamelCase<ProvisionFlags>): Promise<void> {
  const sources = commandSources(argv);
  const provisioner = loadProvisioner('proxmox');
  const many = argv.count !== undefined;
  const count = argv.count ?? 1;
  const tty = Boolean(process.stderr.isTTY) && !argv.json && count === 1;
  const logFormat: LogFormat = argv.logFormat ?? 'plain';
  // --name dev-{n}: checked before anything touches the host.
  const names = argv.name === undefined && count === 1 ? [undefined] : expandNames(argv.name ?? '', count);

  await withTarget(argv, sources, async (resolved: ResolvedTarget) => {
    // Validated before anything touches the host.
    const specs = names.map((name) => specFor(sources, resolved, name));
    const first = specs[0] as VmSpec;
    const sshKeys = first.sshKey === undefined ? undefined : readPublicKeys(first.sshKey);
    const { target } = resolved;
    // --node auto places VMs only on the nodes linus reaches: this one and those with an address.
    const nodeAddresses = parseNodeAddresses(target.nodeAddresses);

    // A single VM on a named node: the provisioner checks the capacity thresholds itself, in the
    // same /cluster/resources read it makes anyway. --node auto or --count N: one `vm.sh place`
    // exec picks the nodes and checks every VM of the run together, before anything is created.
    const placing = target.node === 'auto' || count > 1;
    let nodes = specs.map(() => target.node);
    let local: string | undefined;
    let placeWarnings: string[] = [];
    let placeStats: { execs: number; uploads: number } | undefined;
    if (placing) {
      const placement = await place(
        { ssh: resolved.ssh, script: loadProvisioner('vm'), remoteDir: target.remoteDir, nodeAddresses },
        { node: target.node, storage: target.storage, bridge: target.bridge, memoryMiB: first.memory, diskGiB: first.disk, count, force: Boolean(argv.force) },
      );
      placeStats = { execs: placement.stats.execs, uploads: placement.stats.uploads };
      placeWarnings = placement.warnings;
      if (!placement.ok) {
        if (argv.json) process.stdout.write(`${JSON.stringify({ ok: false, error: placement.error, ...(many ? { vms: [] } : {}), warnings: placeWarnings, stats: { place: placeStats } })}\n`);
        else process.stderr.write(`linus: ${errorText(placement.error)}Nothing was created.\n`);
        process.exitCode = placement.error.exitCode;
        return;
      }
      ({ nodes, local } = placement);
      if (!argv.json) printWarnings(placeWarnings);
    }
    const capacity = placing ? 'placed' : argv.force ? 'force' : 'check';
    const placeStat = placeStats ? { place: placeStats } : {};

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
      // Every VM concurrently, each with its own run id and its own rollback on failure.
      const runs = await Promise.all(
        specs.map(async (spec, index): Promise<VmRun> => {
          const node = nodes[index] as string;
          const logger = await createLogger(logFormat, { name: spec.name });
          const prefix = count > 1 ? `[${spec.name}] ` : '';
          const onEvent = progressRenderer({
            quiet: Boolean(argv.quiet) || (many && Boolean(argv.json)),
            tty,
            ...(logger ? { logger } : {}),
            write: (text) => process.stderr.write(prefix ? text.replace(/^linus: /gm, `linus: ${prefix}`) : text),
          });
          const ssh = sshForNode(node, local, resolved.ssh, nodeAddresses);
          const args = provisionerArgs({ ...target, node }, spec, sshKeys, Boolean(argv.dryRun), capacity);
          try {
            const { outcome, stats } = await provision({ connect: () => connect(ssh), provisioner, remoteDir: target.remoteDir, onEvent, signal: controller.signal }, args);
            return { name: spec.name, node, outcome, stats };
          } catch (error) {
            if (!many) throw error;
            // With --count one VM's connection trouble must not hide the others' results.
            const linusError = toLinusError(error);
            return { name: spec.name, node, outcome: { ok: false, kind: 'failure', error: linusError.toJSON(), steps: [], warnings: [], logs: [] }, stats: { execs: 0, uploads: 0, reconnects: 0, attempts: 0 } };
          }
        }),
      );
      if (tty && !argv.quiet) process.stderr.write('\r\x1b[2K');
      const failed = runs.find((entry) => !entry.outcome.ok);
      const runWarnings = runs.flatMap((entry) => entry.outcome.warnings);
      const warnings = [...placeWarnings, ...runWarnings];
      if (!argv.json) printWarnings(runWarnings);
      if (!many) {
        const { outcome, stats } = runs[0] as VmRun;
        if (argv.json) process.stdout.write(outcomeJson(outcome, { warnings, stats: { ...stats, ...placeStat } }));
        else if (!argv.quiet || !outcome.ok) (outcome.ok ? process.stdout : process.stderr).write(summarize(outcome));
      } else if (argv.json) {
        const vms = runs.map(({ name, node, outcome, stats }) => ({ name, node, ...(JSON.parse(outcomeJson(outcome, { stats })) as Record<string, unknown>) }));
        process.stdout.write(`${JSON.stringify({ ok: failed === undefined, vms, warnings, stats: placeStat })}\n`);
      } else {
        for (const { name, outcome } of runs) {
          if (argv.quiet && outcome.ok) continue;
          (outcome.ok ? process.stdout : process.stderr).write(`[${name}] ${summarize(outcome)}`);
        }
        const ok = runs.filter((entry) => entry.outcome.ok).length;
        if (!argv.quiet || failed) process.stderr.write(`${ok} of ${runs.length} VMs ready${failed ? `; ${runs.length - ok} failed and were rolled back` : ''}.\n`);
      }
      if (failed && !failed.outcome.ok) process.exitCode = failed.outcome.error.exitCode;
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

const handler = withJsonErrors<ArgumentsCamelCase<ProvisionFlags>>(run);

export const provisionCommand: CommandModule<object, ProvisionFlags> = {
  command: 'provision',
  describe: describeOf('provision'),
  builder: (yargs: Argv) =>
    targetOptions(yargs)
      .group(VM_OPTION_NAMES, 'VM:')
      .options({
        ...VM_OPTIONS,
        'dry-run': { type: 'boolean', describe: 'Check everything read-only and print the qm/pvesh commands that would run' },
        count: { type: 'number', describe: `Create N VMs concurrently (1-${MAX_COUNT}), spread over the nodes; --name must contain {n} (dev-{n} gives dev-1..dev-N)` },
        force: { type: 'boolean', describe: 'Go ahead past 90 % of the node memory or storage' },
        json: { type: 'boolean', describe: 'Print one JSON object on stdout at the end' },
        quiet: { type: 'boolean', describe: 'No progress output' },
        'log-format': { type: 'string', choices: ['plain', 'json', 'pretty'] as const, describe: 'Progress on stderr as plain lines, pino JSON or pino-pretty' },
      })
      .example('$0 provision --sandbox --name demo', 'A full provision against a throwaway simulated Proxmox host')
      .example(
        '$0 provision --host pve.lan --identity ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts --node pve --storage local-lvm --bridge vmbr0 --name web01 --os ubuntu --cores 2 --memory 2048 --disk 20 --ssh-key ~/.ssh/id_ed25519.pub',
        'Ubuntu 24.04 on a real host, DHCP',
      )
      .example('$0 provision ... --node auto --count 5 --name dev-{n} --node-address pve2=192.168.1.12', 'Five VMs at once, spread over the nodes with the most free memory')
      .example('$0 provision ... --ip 192.168.1.50/24 --gateway 192.168.1.1 --dns "1.1.1.1" --vlan 20 --json', 'Static address on VLAN 20, JSON result') as unknown as Argv<ProvisionFlags>,
  handler,
};
