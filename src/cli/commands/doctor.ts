import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { z } from 'zod';
import { flagName } from '../../config/load.js';
import { doctorJson, fixesText, reportText, summaryText } from '../../doctor/render.js';
import { failedChecks } from '../../doctor/report.js';
import { doctor, type DoctorResult } from '../../ops/doctor.js';
import { statsJson } from '../../ops/json.js';
import { ERROR_CODES } from '../../protocol/codes.js';
import { errorText, LinusError } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { withOpsTarget } from '../ops-target.js';
import { canPrompt, confirmTyped } from '../prompt.js';
import { targetOptions } from '../target-options.js';
import { VM_OPTIONS } from '../vm-options.js';
import { describeOf, type FlagsOf } from './index.js';

const builder = (yargs: Argv) =>
  targetOptions(yargs).options({
    vlan: { ...VM_OPTIONS.vlan, describe: 'Check a guest network on this VLAN of --bridge' },
    os: { ...VM_OPTIONS.os, describe: 'Check for this OS image (whether it ships the guest agent) [default: ubuntu]' },
    fix: { type: 'boolean', describe: 'Apply the safe fixes (snippets on a dir storage, keeping its other content types) after showing them' },
    yes: { type: 'boolean', describe: 'With --fix: do not ask' },
    json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
  });

type DoctorFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

const VLAN_RULE = { error: 'must be an integer from 1 to 4094' };
const flagsSchema = z.object({ vlan: z.number(VLAN_RULE).int(VLAN_RULE).min(1, VLAN_RULE).max(4094, VLAN_RULE).optional() });

// Reports the checks: text or one JSON object; a failed check makes the exit HOST_NOT_READY.
function finish(cli: CliContext, argv: DoctorFlags, { report, applied, stats }: DoctorResult): void {
  const { stdout, stderr } = cli.io;
  const failed = failedChecks(report);
  const entry = ERROR_CODES.HOST_NOT_READY;
  const error = { code: 'HOST_NOT_READY', exitCode: entry.exitCode, message: `${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((item) => item.id).join(', ')}`, remediation: entry.remediation };
  if (argv.json) {
    stdout.write(`${JSON.stringify(doctorJson(report, applied, { ...(failed.length > 0 ? { error } : {}), stats: statsJson(stats) }))}\n`);
  } else {
    // -q: only the summary line (the exit code says the rest).
    if (applied.length > 0 && !argv.quiet) stdout.write('\nAfter the fixes:\n');
    if (!argv.quiet) stdout.write(reportText(report));
    stdout.write(argv.quiet ? summaryText(report, Boolean(argv.fix)).trimStart() : summaryText(report, Boolean(argv.fix)));
    if (failed.length > 0) stderr.write(`linus: ${errorText(error)}`);
  }
  if (failed.length > 0) cli.exitCode = entry.exitCode;
}

async function run(cli: CliContext, argv: DoctorFlags): Promise<void> {
  const parsed = flagsSchema.safeParse({ vlan: argv.vlan });
  if (!parsed.success) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${flagName('vlan')}: ${parsed.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(argv.vlan)}`, remediation: 'Fix the named value and run again; nothing was sent to the host.' });
  }
  const { stdout } = cli.io;
  // The report says what the host's own lines would (-v shows them all the same).
  await withOpsTarget(cli, argv, async (deps, resolved) => {
    const request = { target: resolved.target, fix: Boolean(argv.fix), ...(argv.vlan === undefined ? {} : { vlan: argv.vlan }), ...(argv.os === undefined ? {} : { os: argv.os }) };
    const result = await doctor(deps, request, {
      beforeFixes: async (report) => {
        if (!argv.json) stdout.write(`${reportText(report)}\n${fixesText(report.fixes)}`);
        if (argv.yes) return;
        const remediation = "Pass --yes, or run 'linus doctor --fix' on a terminal and type yes when asked.";
        if (argv.json || !canPrompt(cli.io)) {
          throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `applying ${report.fixes.map((fix) => `'${fix.command}'`).join(', ')} needs --yes (or a terminal to type yes)`, remediation });
        }
        if (!(await confirmTyped(cli.io, 'Apply these changes on the host?', 'yes'))) {
          throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: 'nothing was changed: the answer was not yes', remediation });
        }
      },
      onFixed: (fix, changed) => {
        if (!argv.json) stdout.write(`applied: ${fix.command}${changed ? '' : ' (it was already so)'}\n`);
      },
    });
    finish(cli, argv, result);
  });
}

// `linus doctor`: what a provision will find on the host, check by check, and what fixes each.
export function doctorCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'doctor', describe: describeOf('doctor'), builder, handler: withJsonErrors(cli, (argv) => run(cli, argv)) };
}
