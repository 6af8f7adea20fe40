import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseCloneSpec } from '../../config/clone-spec.js';
import { RANGES } from '../../config/rules.js';
import { readPublicKeys } from '../../config/ssh-key.js';
import { checkVmFlags } from '../../config/vm-flags.js';
import { cloneVm } from '../../jobs/clone.js';
import { checkVmRef, resolveVm } from '../../ops/vm-ref.js';
import { deleteVm, listVms, powerVm, resizeVm, setVm, vmChanges, vmConfig, vmStatus } from '../../ops/vm.js';
import { LinusError } from '../../protocol/errors.js';
import type { PowerAction } from '../../provisioners/args.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { withOpsTarget } from '../ops-target.js';
import { canPrompt, confirmByName } from '../prompt.js';
import { opText, writeOpResult } from '../render/ops.js';
import { listingOptions } from '../listing.js';
import { progressFor } from '../render/progress.js';
import { writeCloneResult } from '../render/provision.js';
import { hostOptions, OUTPUT_OPTIONS, type LevelFlags, type TargetFlags } from '../target-options.js';
import { VM_OPTIONS } from '../vm-options.js';
import { describeOf, type FlagsOf } from './index.js';

// linus never touches a VM it did not create: the host refuses one without the `linus` tag
// (VM_NOT_OWNED) unless --foreign is passed.
const FOREIGN_OPTION = { foreign: { type: 'boolean', describe: "Act on a VM linus did not create (no 'linus' tag)" } } as const;

const common = <T>(yargs: Argv<T>) => hostOptions(yargs).options(OUTPUT_OPTIONS);
const withId = <T>(yargs: Argv<T>) => common(yargs).positional('vm', { type: 'string', describe: 'VM ID or name', demandOption: true });

function sub<U extends { json?: boolean | undefined }>(cli: CliContext, command: string, describe: string, builder: (yargs: Argv) => Argv<U>, run: (argv: ArgumentsCamelCase<U>) => Promise<void>): CommandModule<object, U> {
  return { command, describe, builder, handler: withJsonErrors(cli, run) };
}

const timeoutBuilder = (yargs: Argv) => withId(yargs).options({ timeout: { type: 'number', describe: 'Seconds to wait for the state [default: 60]' }, ...FOREIGN_OPTION });
const forceBuilder = (describe: string) => (yargs: Argv) => timeoutBuilder(yargs).options({ force: { type: 'boolean', describe } });
type PowerFlags = ArgumentsCamelCase<FlagsOf<typeof timeoutBuilder>> & { force?: boolean | undefined };

const setBuilder = (yargs: Argv) =>
  withId(yargs).options({
    cores: { type: 'number', describe: 'CPU cores (1-128)' },
    memory: { type: 'number', describe: `Memory in MiB (${RANGES.vmMemory.min}-${RANGES.vmMemory.max})` },
    name: { type: 'string', describe: 'New name (a DNS label)' },
    description: { type: 'string', describe: 'Description (one line)' },
    tags: { type: 'string', describe: "Tags, ';'-separated (linus' own ownership tags are kept)" },
    ...FOREIGN_OPTION,
  });

const resizeBuilder = (yargs: Argv) =>
  withId(yargs).options({
    size: { type: 'string', demandOption: true, describe: 'New size in GiB (40) or growth (+10)' },
    disk: { type: 'string', describe: 'Disk [default: scsi0]' },
    ...FOREIGN_OPTION,
  });

const deleteBuilder = (yargs: Argv) =>
  withId(yargs).options({
    yes: { type: 'boolean', describe: 'Do not ask' },
    stop: { type: 'boolean', describe: 'Stop a running VM first (otherwise it is refused)' },
    timeout: { type: 'number', describe: 'Seconds to wait for the stop [default: 60]' },
    ...FOREIGN_OPTION,
  });

const cloneBuilder = (yargs: Argv) =>
  common(yargs)
    .positional('template', { type: 'string', demandOption: true, describe: 'VM ID or name of the template' })
    .options({
      name: { type: 'string', demandOption: true, describe: 'Name of the new VM (a DNS label)' },
      linked: { type: 'boolean', describe: 'Linked clone (shares the template disk; default: full copy)' },
      'vm-user': { type: 'string', describe: "Cloud-init user [default: the template's]" },
      'ssh-key': { type: 'string', describe: "Public key file for the user [default: the template's keys]" },
      ip: { type: 'string', describe: "'dhcp' or A.B.C.D/N [default: the template's]" },
      gateway: VM_OPTIONS.gateway,
      timeout: VM_OPTIONS.timeout,
      force: { type: 'boolean', describe: 'Go ahead past 90 % of the node memory or storage' },
    });

// Checks the flags (config/vm-flags.ts), then runs fn against the target.
function withVmOps(cli: CliContext, argv: TargetFlags & LevelFlags & { vm?: string | undefined; json?: boolean | undefined }, fn: Parameters<typeof withOpsTarget>[2]): Promise<void> {
  if (argv.vm !== undefined) checkVmRef(argv.vm);
  checkVmFlags(argv);
  return withOpsTarget(cli, argv, fn);
}

const listBuilder = (yargs: Argv) => listingOptions(hostOptions(yargs)).options({ node: { type: 'string', describe: 'Only the VMs on this node' } });

function subcommands(cli: CliContext): CommandModule<object, any>[] {
  const power = (action: PowerAction, describe: string, force?: string) => {
    const run = async (argv: PowerFlags) =>
      withVmOps(cli, argv, async (deps) => {
        const options = { ...(argv.timeout === undefined ? {} : { timeout: argv.timeout }), force: Boolean(argv.force), foreign: Boolean(argv.foreign) };
        writeOpResult(cli, argv, await powerVm(deps, action, await resolveVm(deps, argv.vm), options), opText.power);
      });
    return force === undefined ? sub(cli, `${action} <vm>`, describe, timeoutBuilder, run) : sub(cli, `${action} <vm>`, describe, forceBuilder(force), run);
  };
  return [
    sub(cli, 'list', 'Every VM of the cluster (or of --node): node, status, cores, memory, disk, IP (guest agent) and whether linus made it (-q: the IDs)', listBuilder, async (argv) =>
      withVmOps(cli, argv, async (deps) => writeOpResult(cli, argv, await listVms(deps, argv.node === undefined ? {} : { node: argv.node }), opText.list, 'vms')),
    ),
    sub(cli, 'status <vm>', 'Power state, lock, template flag and owner of one VM', withId, async (argv) =>
      withVmOps(cli, argv, async (deps) => writeOpResult(cli, argv, await vmStatus(deps, await resolveVm(deps, argv.vm)), opText.status)),
    ),
    power('start', 'Start a VM and wait until it runs'),
    power('stop', 'Stop a VM at once (like pulling the plug) and wait until it is stopped'),
    power('shutdown', 'Shut a VM down cleanly (ACPI or guest agent); --force stops it after --timeout', 'Stop the VM if it has not shut down within --timeout'),
    power('reboot', 'Reboot a running VM and wait until it runs again; --force stops and starts it if the shutdown times out', 'Stop and start the VM if it has not shut down within --timeout'),
    sub(cli, 'config <vm>', 'Print the VM config, and its changes pending until the next reboot', withId, async (argv) =>
      withVmOps(cli, argv, async (deps) => writeOpResult(cli, argv, await vmConfig(deps, await resolveVm(deps, argv.vm)), opText.config)),
    ),
    sub(cli, 'set <vm>', 'Change cores, memory, name, description or tags (a running VM keeps cores/memory pending until reboot)', setBuilder, async (argv) => {
      const changes = vmChanges(argv);
      await withVmOps(cli, argv, async (deps) => writeOpResult(cli, argv, await setVm(deps, await resolveVm(deps, argv.vm), changes, { foreign: Boolean(argv.foreign) }), opText.set));
    }),
    sub(cli, 'resize <vm>', 'Grow a disk (never shrink) and verify the new size from the config', resizeBuilder, async (argv) =>
      withVmOps(cli, argv, async (deps) => {
        const options = { ...(argv.disk === undefined ? {} : { disk: argv.disk }), foreign: Boolean(argv.foreign) };
        writeOpResult(cli, argv, await resizeVm(deps, await resolveVm(deps, argv.vm), String(argv.size), options), opText.resize);
      }),
    ),
    sub(cli, 'delete <vm>', 'Destroy a VM with its disks and cloud-init volume (needs --yes or a typed confirmation)', deleteBuilder, async (argv) => {
      const interactive = !argv.yes && !argv.json && canPrompt(cli.io);
      if (!argv.yes && !interactive) {
        throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `deleting VM ${argv.vm} needs --yes (or a terminal to type its name)` });
      }
      await withVmOps(cli, argv, async (deps) => {
        const options = {
          stop: Boolean(argv.stop),
          foreign: Boolean(argv.foreign),
          ...(argv.timeout === undefined ? {} : { timeout: argv.timeout }),
          ...(interactive ? { confirm: (vm: { id: number; name: string; linus: boolean }) => confirmByName(cli.io, vm.id, vm.name, vm.linus) } : {}),
        };
        writeOpResult(cli, argv, await deleteVm(deps, await resolveVm(deps, argv.vm), options), opText.delete);
      });
    }),
    sub(cli, 'clone <template>', 'Clone a template (full or --linked), set cloud-init user/key/IP, start it and wait until SSH answers', cloneBuilder, async (argv) => {
      // Its --timeout is that of a whole clone job: checked by parseCloneSpec, not checkVmFlags.
      const keys = argv.sshKey === undefined ? undefined : readPublicKeys(argv.sshKey);
      // A template given by ID is checked with the flags before connecting; a name after its look-up.
      checkVmRef(argv.template);
      const byId = /^[0-9]+$/.test(argv.template);
      if (byId) parseCloneSpec(Number(argv.template), argv);
      const json = Boolean(argv.json);
      const quiet = Boolean(argv.quiet);
      await withOpsTarget(cli, argv, async (deps) => {
        const spec = parseCloneSpec(byId ? Number(argv.template) : await resolveVm(deps, argv.template), argv);
        const progress = await progressFor(cli, argv);
        try {
          const result = await cloneVm({ ssh: deps.ssh, remoteDir: deps.remoteDir, nodeAddresses: deps.nodeAddresses, ...(deps.provisioner ? { provisioner: deps.provisioner } : {}), onEvent: (event, runId) => progress.event(event, runId) }, spec, keys);
          progress.stop(result.outcome.ok);
          writeCloneResult(cli, { json, quiet }, result);
        } finally {
          progress.stop(false);
        }
      });
    }),
  ];
}

export function vmCommand(cli: CliContext): CommandModule<object, object> {
  return {
    command: 'vm <command>',
    describe: describeOf('vm'),
    builder: (yargs: Argv) => subcommands(cli).reduce((built, command) => built.command(command), yargs).demandCommand(1, 'Name a vm command.'),
    handler: () => undefined,
  };
}
