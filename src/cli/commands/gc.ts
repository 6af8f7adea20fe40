import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { commandSources } from '../../config/load.js';
import { gc, type GcReport } from '../../ops/gc.js';
import { LinusError } from '../../protocol/errors.js';
import { parseDuration } from '../duration.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { ask } from '../prompt.js';
import { gcText } from '../render/ops.js';
import { hostLinesFor } from '../render/progress.js';
import { hostOptions } from '../target-options.js';
import { withTarget } from '../target.js';
import { describeOf, type FlagsOf } from './index.js';

const builder = (yargs: Argv) =>
  hostOptions(yargs)
    .options({
      'older-than': { type: 'string', describe: 'Only runs older than this (90s, 30m, 1h, 2d) [default: 1h]' },
      'dry-run': { type: 'boolean', describe: 'Only list what would be removed' },
      yes: { type: 'boolean', describe: 'Remove without asking' },
      json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
    })
    .example('$0 gc --host pve.lan --identity ~/.ssh/id_ed25519 --dry-run', 'List leftovers of failed runs')
    .example('$0 gc --host pve.lan --identity ~/.ssh/id_ed25519 --older-than 0 --yes', 'Remove them now');

type GcFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

// -q: the IDs of the VMs removed (with --dry-run: those that would be), one a line.
const gcQuiet = (report: GcReport) => (report.dryRun ? report.candidates.map((candidate) => candidate.vmId) : report.cleaned).map((id) => `${id}\n`).join('');

async function run(cli: CliContext, argv: GcFlags): Promise<void> {
  const { io } = cli;
  const olderThanSeconds = parseDuration('--older-than', argv.olderThan ?? '1h');
  const dryRun = Boolean(argv.dryRun);
  const yes = Boolean(argv.yes);
  // Without a terminal to ask on, gc looks first: nothing to remove is a success; something to
  // remove needs --yes.
  const canAsk = Boolean(io.stdin.isTTY) && !argv.json;
  await withTarget(argv, commandSources(argv, io.env), async (resolved) => {
    const review = {
      show: (preview: GcReport) => void (argv.json ? undefined : io.stderr.write(gcText(preview))),
      confirm: async () => {
        if (!canAsk) throw new LinusError({ code: 'INVALID_SPEC', message: 'gc would remove what is listed above: pass --yes to do it, or --dry-run to only list it' });
        return (await ask(io, "Remove these? Type 'yes': ")) === 'yes';
      },
    };
    const onEvent = await hostLinesFor(cli, argv);
    const report = await gc({ ssh: resolved.ssh, remoteDir: resolved.target.remoteDir, onEvent }, { olderThanSeconds, dryRun, yes }, review);
    io.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : argv.quiet ? gcQuiet(report) : gcText(report));
  });
}

export function gcCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'gc', describe: describeOf('gc'), builder, handler: withJsonErrors(cli, (argv) => run(cli, argv)) };
}
