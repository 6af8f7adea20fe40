#!/usr/bin/env node
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LinusError, reportFatal } from '../protocol/errors.js';
import { COLOR_MODES, type ColorMode } from './color.js';
import { COMMANDS } from './commands/index.js';
import { processIo, type CliContext, type CliIo } from './io.js';
import { writeJsonError } from './json-errors.js';
import { argvWantsJson } from './listing.js';

const COMPLETION_KEY = '--get-yargs-completions';

// The command an argv names. A completion request (the shell scripts of `linus completion`) gives
// the words typed so far after the key, the program's name first.
function commandWord(argv: string[]): string | undefined {
  const key = argv.indexOf(COMPLETION_KEY);
  const words = key === -1 ? argv : argv.slice(key + 1).filter((word, index) => index > 0 || word !== 'linus');
  return words.find((word) => !word.startsWith('-'));
}

// Only the command argv names is loaded; the others are listed by name and description.
export async function buildCli(argv: string[], cli: CliContext): Promise<Argv> {
  const word = commandWord(argv);
  const named = COMMANDS.find((entry) => entry.name === word);
  let parser = yargs(argv)
    .scriptName('linus')
    .usage('$0 <command> [options]\n\nProvision ready Proxmox VE VMs over SSH: verified image, cloud-init, booted, reachable.');
  for (const entry of COMMANDS) {
    parser = parser.command(entry === named ? (await entry.load())(cli) : { command: entry.name, describe: entry.describe, handler: () => undefined });
  }
  return parser
    .option('color', { type: 'string', choices: COLOR_MODES, describe: 'Colour on stderr: auto (on a terminal, unless NO_COLOR is set) [default], always or never' })
    .middleware((parsed) => {
      if (parsed.color !== undefined) cli.color = parsed.color as ColorMode;
    })
    .demandCommand(1, 'Name a command.')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .exitProcess(false)
    .wrap(Math.min(110, cli.io.stdout.columns || 100))
    .epilogue('Exit codes and the JSON shapes: see README.md. Progress levels (-q, -v, -vv), -o, colour and shell completion: docs/output.md. Docs: docs/.')
    // yargs' own parse errors are operator errors: message + remediation, stable code, exit 1.
    .fail((message, error) => {
      if (error) throw error;
      throw new LinusError({ code: 'INVALID_SPEC', message: parseMessage(message ?? 'invalid arguments', argv), remediation: "Run 'linus --help' or 'linus <command> --help'." });
    });
}

// yargs' words for an unknown command or a value that looks like short options, said plainly.
function parseMessage(message: string, argv: string[]): string {
  const command = argv.find((word) => !word.startsWith('-'));
  const suggestion = /^Did you mean (\S+)\?$/.exec(message);
  if (suggestion && command !== undefined && !COMMANDS.some((entry) => entry.name === command)) {
    return `'${command}' is not a linus command (did you mean ${suggestion[1]}?)`;
  }
  const dashed = argv.find((word, index) => /^-[^-\d]{2,}/.test(word) && index > 0 && argv[index - 1]?.startsWith('--'));
  if (/^Unknown arguments?:/.test(message) && dashed !== undefined) {
    const option = argv[argv.indexOf(dashed) - 1] as string;
    return `${option} got no value: '${dashed}' reads as short options; a value that starts with '-' is written ${option}=${dashed}`;
  }
  return message;
}

// yargs builds and caches the whole help text each time it runs a command handler, so that a
// failure after it could print that help; ours never does (fail() throws linus' own error), and
// building it costs ~100 ms of CPU per run (string widths of every option). Without the internal
// method (another yargs) nothing changes.
interface HelpCache {
  getInternalMethods?(): { getUsageInstance(): { cacheHelpMessage(): void } };
}
export function skipHelpCache(parser: Argv): Argv {
  const usage = (parser as HelpCache).getInternalMethods?.().getUsageInstance();
  if (usage) usage.cacheHelpMessage = () => undefined;
  return parser;
}

// One run of the CLI against the given io (the process' own by default); returns the exit code.
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const cli: CliContext = { io, exitCode: 0 };
  try {
    const parser = skipHelpCache(await buildCli(argv, cli));
    // The callback takes what yargs would print itself (help, version).
    await parser.parseAsync(argv, {}, (_error, _argv, output) => {
      if (output) io.stdout.write(`${output}\n`);
    });
    return cli.exitCode;
  } catch (error) {
    // An argument error yargs found before any handler ran: with --json it is JSON all the same.
    if (argvWantsJson(argv)) return writeJsonError(io, error);
    return reportFatal(error, (text) => io.stderr.write(text));
  }
}

// Source guard: run only as the program (also through npm's bin symlink), not when imported.
function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(script)).href;
}

if (isMain()) process.exitCode = await main(hideBin(process.argv));
