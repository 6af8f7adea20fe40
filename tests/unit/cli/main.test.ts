import { Readable } from 'node:stream';
import type { Argv } from 'yargs';
import { expect, it } from 'vitest';
import type { CliContext } from '../../../src/cli/io.js';
import { buildCli, skipHelpCache } from '../../../src/cli/main.js';

interface Internals {
  getInternalMethods?(): { getUsageInstance(): { help(): string } };
}

// How many times yargs builds the whole help text while running <argv> (its usage instance is
// internal: a yargs without it fails here, where skipHelpCache would silently stop working).
async function helpBuilds(argv: string[], prepare: (parser: Argv) => Argv): Promise<number> {
  let output = '';
  const cli: CliContext = {
    io: {
      stdout: { write: (text) => void (output += text) },
      stderr: { write: (text) => void (output += text) },
      stdin: Readable.from([]),
      env: {},
      onInterrupt: () => () => undefined,
      exit: () => undefined,
    },
    exitCode: 0,
  };
  const parser = prepare(await buildCli(argv, cli));
  const usage = (parser as Internals).getInternalMethods?.().getUsageInstance();
  if (!usage) throw new Error('this yargs has no getInternalMethods().getUsageInstance(): skipHelpCache does nothing with it');
  const help = usage.help.bind(usage);
  let builds = 0;
  usage.help = () => {
    builds += 1;
    return help();
  };
  await parser.parseAsync(argv, {}, () => undefined);
  expect(output).toContain('complete');
  return builds;
}

it("a command's run does not build the help text yargs caches for a failure linus never shows it for", async () => {
  expect(await helpBuilds(['completion', 'bash'], (parser) => parser)).toBe(1);
  expect(await helpBuilds(['completion', 'bash'], skipHelpCache)).toBe(0);
});
