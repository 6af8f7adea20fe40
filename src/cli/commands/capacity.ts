import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { describeOf } from './index.js';
import { capacityText, statsJson } from '../../vm/render.js';
import { capacityRowSchema, parseData, type CapacityRow } from '../../protocol/data.js';
import { LinusError } from '../../protocol/errors.js';
import { withJsonErrors } from '../json-errors.js';
import { withOps, type VmFlags } from './vm.js';
import { targetOptions } from '../target-options.js';

// `linus capacity`: CPU, memory and storage use per node from one /cluster/resources read.
export const capacityCommand: CommandModule<object, VmFlags> = {
  command: 'capacity',
  describe: describeOf('capacity'),
  builder: (yargs) =>
    targetOptions(yargs).options({
      'node-address': { type: 'string', array: true, describe: 'SSH address of another cluster node: <node>=<host>[:port]' },
      json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
    }) as never,
  handler: withJsonErrors<ArgumentsCamelCase<VmFlags>>(async (argv) =>
    withOps(argv, async ({ run }) => {
      const { outcome, stats } = await run(['capacity']);
      if (!outcome.ok) throw new LinusError({ code: outcome.error.code, message: outcome.error.message, remediation: outcome.error.remediation, exitCode: outcome.error.exitCode });
      const rows: CapacityRow[] = outcome.data.map((row) => parseData(capacityRowSchema, row, 'capacity row'));
      const nodes = rows.filter((row) => row.kind === 'node').map(({ kind: _kind, ...rest }) => rest);
      const storages = rows.filter((row) => row.kind === 'storage').map(({ kind: _kind, ...rest }) => rest);
      if (argv.json) process.stdout.write(`${JSON.stringify({ ok: true, nodes, storages, thresholds: { warnPercent: 80, refusePercent: 90 }, stats: statsJson(stats) })}\n`);
      else process.stdout.write(capacityText(rows));
    }),
  ),
};
