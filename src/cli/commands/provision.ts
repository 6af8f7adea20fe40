import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { commandSources, parseSettings, type Sources } from '../../config/load.js';
import { expandNames, MAX_COUNT } from '../../config/names.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { vmSpecSchema, type VmSpec } from '../../config/spec.js';
import { parseNodeAddresses } from '../../host/nodes.js';
import { provisionVms } from '../../jobs/provision.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { printWarnings, progressFor } from '../render/progress.js';
import { writeProvisionResult } from '../render/provision.js';
import { targetOptions } from '../target-options.js';
import { withTarget, type ResolvedTarget } from '../target.js';
import { VM_OPTIONS, VM_OPTION_NAMES } from '../vm-options.js';
import { describeOf, type FlagsOf } from './index.js';

function builder(yargs: Argv) {
  return targetOptions(yargs)
    .group(VM_OPTION_NAMES, 'VM:')
    .options({
      ...VM_OPTIONS,
      'dry-run': { type: 'boolean', describe: 'Check everything read-only and print the qm/pvesh commands that would run' },
      count: { type: 'number', describe: `Create N VMs concurrently (1-${MAX_COUNT}), spread over the nodes; --name must contain {n} (dev-{n} gives dev-1..dev-N)` },
      force: { type: 'boolean', describe: 'Go ahead past 90 % of the node memory or storage' },
      'if-exists': {
        type: 'string',
        choices: ['fail', 'reuse'] as const,
        describe: "A VM of that name exists: fail (NAME_CONFLICT, nothing created), or reuse it when linus made it with the same settings (exit 0, reused); with --count and {n}: fail numbers on after the highest taken, reuse makes dev-1..dev-N exist [default: fail]",
      },
      'keep-on-failure': { type: 'boolean', describe: "Keep a VM whose provision failed for inspection instead of rolling it back (tagged: 'linus gc' still removes it later)" },
      json: { type: 'boolean', describe: 'Print one JSON object on stdout at the end' },
    })
    .example('$0 provision --sandbox --name demo', 'A full provision against a throwaway simulated Proxmox host')
    .example(
      '$0 provision --host pve.lan --identity ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts --node pve --storage local-lvm --bridge vmbr0 --name web01 --os ubuntu --cores 2 --memory 2048 --disk 20 --ssh-key ~/.ssh/id_ed25519.pub',
      'Ubuntu 24.04 on a real host, DHCP',
    )
    .example('$0 provision ... --node auto --count 5 --name dev-{n} --node-address pve2=192.168.1.12', 'Five VMs at once, spread over the nodes with the most free memory')
    .example('$0 provision ... --name web01 --if-exists reuse', 'Again with the same flags: the existing web01 (exit 0, reused), or the difference if it was made otherwise')
    .example('$0 provision ... --ip 192.168.1.50/24 --gateway 192.168.1.1 --dns "1.1.1.1" --vlan 20 --json', 'Static address on VLAN 20, JSON result');
}

type ProvisionFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

function specFor(sources: Sources, resolved: ResolvedTarget, name: string | undefined): VmSpec {
  const flags = { ...sources.flags, ...(name === undefined ? {} : { name }), ...resolved.specDefaults(sources.flags) };
  return parseSettings(vmSpecSchema, { ...sources, flags });
}

// Printed when the second Ctrl-C stops waiting for the rollback: each run can be picked up again.
function stoppedWaiting(runIds: string[]): string {
  const follow = runIds.map((runId) => `  Follow it with: linus wait ${runId} (same target flags)\n`).join('');
  return `\nlinus: stopped waiting. The host job may still be rolling back; VMs it leaves are tagged 'linus' and 'linus-<run id>'.\n${follow}  Remove leftovers with: linus gc --older-than 0 --yes (same target flags)\n`;
}

async function run(cli: CliContext, argv: ProvisionFlags): Promise<void> {
  const { io } = cli;
  const sources = commandSources(argv, io.env);
  const many = argv.count !== undefined;
  const count = argv.count ?? 1;
  const json = Boolean(argv.json);
  const quiet = Boolean(argv.quiet);
  // --name dev-{n}: checked before anything touches the host.
  const names = argv.name === undefined && count === 1 ? [undefined] : expandNames(argv.name ?? '', count);

  await withTarget(argv, sources, async (resolved) => {
    // Validated before anything touches the host.
    const specs = names.map((name) => specFor(sources, resolved, name));
    const first = specs[0] as VmSpec;
    const sshKeys = first.sshKey === undefined ? undefined : readPublicKeys(first.sshKey);
    // --node auto places VMs only on the nodes linus reaches: this one and those with an address.
    const nodeAddresses = parseNodeAddresses(resolved.target.nodeAddresses);
    // One VM: its steps as live lines on a terminal; several: plain lines that name their VM. One
    // per VM name; the host may number a {n} pattern on (onNames), before any job starts.
    const progress = new Map<string, Awaited<ReturnType<typeof progressFor>>>();
    const addProgress = async (vmNames: readonly string[]) => {
      for (const name of vmNames) progress.set(name, await progressFor(cli, argv, { tty: count === 1, bindings: { name }, prefix: count > 1 ? `[${name}] ` : '' }));
    };
    await addProgress(specs.map((spec) => spec.name));
    // The first Ctrl-C cancels the host jobs and waits for their rollback; the second stops waiting.
    const controller = new AbortController();
    // The run id each VM's job has now (a retry gets a new one).
    const runIds = new Map<string, string>();
    let interrupts = 0;
    const offInterrupt = io.onInterrupt(() => {
      interrupts += 1;
      if (interrupts === 1) return controller.abort();
      io.stderr.write(stoppedWaiting([...runIds.values()]));
      io.exit(130);
    });
    try {
      const result = await provisionVms(
        {
          ssh: resolved.ssh,
          nodeAddresses,
          signal: controller.signal,
          onEvent: (name, event, runId) => {
            runIds.set(name, runId);
            progress.get(name)?.event(event, runId);
          },
          onPlaced: (warnings) => {
            if (!json) printWarnings(cli, warnings);
          },
          onNames: (vmNames) => addProgress(vmNames.filter((name) => !progress.has(name))),
        },
        {
          target: resolved.target,
          specs,
          sshKeys,
          dryRun: Boolean(argv.dryRun),
          force: Boolean(argv.force),
          many,
          keepOnFailure: Boolean(argv.keepOnFailure),
          ifExists: argv.ifExists === 'reuse' ? 'reuse' : 'fail',
          ...(many && argv.name !== undefined ? { namePattern: argv.name } : {}),
        },
      );
      for (const { name, outcome } of result.runs) progress.get(name)?.stop(outcome.ok);
      writeProvisionResult(cli, { json, quiet, many }, result);
    } finally {
      offInterrupt();
      for (const entry of progress.values()) entry.stop(false);
    }
  });
}

export function provisionCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'provision', describe: describeOf('provision'), builder, handler: withJsonErrors(cli, (argv: ProvisionFlags) => run(cli, argv)) };
}
