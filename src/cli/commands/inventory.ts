import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { fleetNameSchema, type Fleet } from '../../config/fleet-file.js';
import { commandSources } from '../../config/load.js';
import { loadFleet, withFleetTarget } from '../../fleet/load.js';
import { ansibleInventory, inventoryJson, reachable, readInventory, sshConfig, type Inventory, type InventorySelection } from '../../fleet/inventory.js';
import { LinusError } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { withOpsTarget } from '../ops-target.js';
import { hostOptions } from '../target-options.js';
import { describeOf, type FlagsOf } from './index.js';

// `linus inventory [-f FILE | --fleet NAME] [--format ansible|json|ssh-config]` (docs/inventory.md).

const FORMATS = ['ansible', 'json', 'ssh-config'] as const;

const builder = (yargs: Argv) =>
  hostOptions(yargs)
    .options({
      file: { alias: 'f', type: 'string', describe: "A fleet file: its VMs, in the file's order (its target: block applies below flags, LINUS_* and --config)" },
      fleet: { type: 'string', describe: 'The VMs of this fleet (tag linus-fleet-<name>) [default: every VM linus made (tag linus)]' },
      format: { type: 'string', choices: FORMATS, describe: 'ansible: YAML inventory for ansible -i; json: for scripts; ssh-config: Host blocks for ~/.ssh/config [default: ansible]' },
      json: { type: 'boolean', describe: 'The same as --format json' },
    })
    .conflicts('file', 'fleet')
    .example('$0 inventory --profile lab > inventory.yml', 'An Ansible inventory of every linus VM')
    .example('$0 inventory -f fleet.yaml --format ssh-config > ~/.ssh/lab.conf', 'Host blocks for the fleet (Include ~/.ssh/lab.conf in ~/.ssh/config)');

type InventoryFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

function selectionOf(argv: InventoryFlags, fleet: Fleet | undefined): InventorySelection {
  if (fleet) return { kind: 'file', fleet };
  if (argv.fleet === undefined) return { kind: 'linus' };
  const name = fleetNameSchema.safeParse(argv.fleet);
  if (!name.success) throw new LinusError({ code: 'INVALID_SPEC', message: `--fleet: ${name.error.issues[0]?.message}, got ${JSON.stringify(argv.fleet)}` });
  return { kind: 'fleet', name: name.data };
}

function write(cli: CliContext, format: (typeof FORMATS)[number], inventory: Inventory): void {
  const { io } = cli;
  const note = (line: string) => io.stderr.write(`linus: ${line}\n`);
  if (inventory.missing.length > 0) note(`${inventory.missing.join(', ')} of the fleet file do${inventory.missing.length === 1 ? 'es' : ''} not exist yet: not listed`);
  for (const warning of inventory.warnings) note(`warning: ${warning}`);
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(inventoryJson(inventory))}\n`);
    return;
  }
  const { hosts, warnings } = reachable(inventory);
  for (const warning of warnings) note(`warning: ${warning}`);
  if (inventory.hosts.length === 0) note(inventory.fleet === null ? 'no VM carries the tag linus: the inventory is empty' : `no VM of fleet ${inventory.fleet} exists: the inventory is empty`);
  io.stdout.write(format === 'ansible' ? ansibleInventory(hosts) : sshConfig(hosts));
}

async function run(cli: CliContext, argv: InventoryFlags): Promise<void> {
  if (argv.json && argv.format !== undefined && argv.format !== 'json') throw new LinusError({ code: 'INVALID_SPEC', message: `--json and --format ${argv.format} ask for two formats: pass one` });
  const format = argv.json ? 'json' : (argv.format ?? 'ansible');
  // Only the file's names and target: block matter here: no key or image needs completing.
  const fleet = argv.file === undefined ? undefined : loadFleet({ file: argv.file }, cli.io.env);
  const selection = selectionOf(argv, fleet);
  const sources = fleet ? withFleetTarget(commandSources(argv, cli.io.env), fleet) : commandSources(argv, cli.io.env);
  await withOpsTarget(cli, argv, async (deps) => write(cli, format, await readInventory(deps, selection)), sources);
}

export function inventoryCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  // --format json answers a failure with the JSON error object too.
  const handler = withJsonErrors(cli, (argv: InventoryFlags & { json?: boolean }) => run(cli, argv));
  return { command: 'inventory', describe: describeOf('inventory'), builder, handler: (argv) => handler({ ...argv, json: Boolean(argv.json) || argv.format === 'json' }) };
}
