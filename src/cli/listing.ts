import type { Argv, Options } from 'yargs';
import { stringify } from 'yaml';
import { LinusError } from '../protocol/errors.js';
import type { CliContext } from './io.js';

export const LISTING_FORMATS = ['table', 'json', 'yaml'] as const;
export type ListingFormat = (typeof LISTING_FORMATS)[number];

// -o on every command that lists rows; --json stays, as -o json (the same bytes).
export const LISTING_OPTIONS = {
  output: { alias: 'o', type: 'string', choices: LISTING_FORMATS, describe: 'table [default]; json: one JSON object (as --json); yaml: that object as YAML' },
  json: { type: 'boolean', describe: 'Print one JSON object on stdout (-o json)' },
} as const satisfies Record<string, Options>;

export function listingOptions<T>(yargs: Argv<T>) {
  return yargs
    .group(Object.keys(LISTING_OPTIONS), 'Output:')
    .options(LISTING_OPTIONS)
    .check((argv) => {
      if (argv.json && argv.output !== undefined && argv.output !== 'json') throw new LinusError({ code: 'INVALID_SPEC', message: `--json and -o ${argv.output} contradict each other`, remediation: 'Pass one of them.' });
      return true;
    })
    // -o json is --json from here on: the same bytes, and failures as the one JSON object too.
    .middleware((argv) => {
      if (argv.output === 'json') (argv as { json?: boolean }).json = true;
    });
}

export function listingFormat(argv: { json?: boolean | undefined; output?: string | undefined }): ListingFormat {
  return argv.json ? 'json' : ((argv.output as ListingFormat | undefined) ?? 'table');
}

// Whether an argv asks for JSON, for an error yargs raises before any command's middleware ran.
export function argvWantsJson(argv: readonly string[]): boolean {
  return argv.some((word, index) => word === '--json' || word === '--output=json' || word === '-o=json' || word === '-ojson' || ((word === '-o' || word === '--output') && argv[index + 1] === 'json'));
}

// A listing's body: the JSON object on one line, that object as YAML, or the table.
export function writeListing(cli: CliContext, format: ListingFormat, body: unknown, table: () => string): void {
  if (format === 'json') cli.io.stdout.write(`${JSON.stringify(body)}\n`);
  // YAML of exactly what the JSON holds (no undefined members, dates as strings).
  else if (format === 'yaml') cli.io.stdout.write(stringify(JSON.parse(JSON.stringify(body))));
  else cli.io.stdout.write(table());
}
