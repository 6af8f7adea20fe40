import type { Argv, CommandModule } from 'yargs';
import { capacity } from '../../ops/capacity.js';
import { capacityJson } from '../../ops/json.js';
import { LinusError } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { listingFormat, listingOptions, writeListing } from '../listing.js';
import { withOpsTarget } from '../ops-target.js';
import { capacityText } from '../render/ops.js';
import { hostOptions } from '../target-options.js';
import { describeOf, type FlagsOf } from './index.js';

const builder = (yargs: Argv) =>
  listingOptions(
    hostOptions(yargs).options({
      node: { type: 'string', describe: 'Only this node and its storages' },
      'node-address': { type: 'string', array: true, describe: 'SSH address of another cluster node: <node>=<host>[:port]' },
    }),
  );

// `linus capacity`: CPU, memory and storage use per node from one /cluster/resources read.
export function capacityCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return {
    command: 'capacity',
    describe: describeOf('capacity'),
    builder,
    handler: withJsonErrors(cli, async (argv) =>
      withOpsTarget(cli, argv, async (deps) => {
        const result = await capacity(deps, argv.node === undefined ? {} : { node: argv.node });
        if (!result.ok) throw new LinusError({ code: result.error.code, message: result.error.message, remediation: result.error.remediation, exitCode: result.error.exitCode });
        writeListing(cli, listingFormat(argv), capacityJson(result.data, result.stats), () => capacityText(result.data));
      }),
    ),
  };
}
