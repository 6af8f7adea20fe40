import readline from 'node:readline/promises';
import { describeOf } from './index.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { commandSources } from '../../config/load.js';
import { streamCommand } from '../../jobs/follow.js';
import { LinusError } from '../../protocol/errors.js';
import { cleanupRecords, hostResult, type CleanupRecords, type Transcript } from '../../protocol/transcript.js';
import { loadProvisioner } from '../../provisioners/bundle.js';
import { runProvisioner } from '../../provisioners/run-cached.js';
import { withConnection } from '../../ssh/connection.js';
import { parseDuration } from '../duration.js';
import { withTarget } from '../target.js';
import { withJsonErrors } from '../json-errors.js';
import { targetOptions, type TargetFlags } from '../target-options.js';

interface GcFlags extends TargetFlags {
  olderThan?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

export interface GcReport extends CleanupRecords {
  ok: boolean;
  dryRun: boolean;
}

// The host's gc lines; a failure block (a VM it could not remove, say) is thrown with its code.
function gcReport(transcript: Transcript, dryRun: boolean): GcReport {
  const result = hostResult(transcript);
  if (!result.ok) throw new LinusError({ code: result.error.code, message: `gc did not finish: ${result.error.message}` });
  return { ok: true, dryRun, ...cleanupRecords(transcript) };
}

function describe(report: GcReport): string {
  const out: string[] = [];
  for (const candidate of report.candidates) out.push(`${report.dryRun ? 'would remove' : 'leftover'}: VM ${candidate.vmId} (run ${candidate.runId}, ${candidate.reason})`);
  for (const volume of report.removedVolumes) out.push(`removed volume ${volume}`);
  for (const vmId of report.cleaned) out.push(`removed VM ${vmId}`);
  for (const skip of report.skipped) out.push(`left alone: VM ${skip.vmId} (${skip.reason})`);
  for (const job of report.staleJobs) out.push(`${report.dryRun ? 'would remove' : 'removed'} the record of finished run ${job}`);
  for (const file of report.staleDownloads) out.push(`${report.dryRun ? 'would remove' : 'removed'} partial download ${file}`);
  if (out.length === 0) out.push('nothing to clean up: no unfinished linus VMs, stale job records or partial downloads');
  return `${out.join('\n')}\n`;
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

async function run(argv: ArgumentsCamelCase<GcFlags>): Promise<void> {
  const olderThan = parseDuration('--older-than', argv.olderThan ?? '1h');
  let dryRun = Boolean(argv.dryRun);
  if (!dryRun && !argv.yes) {
    if (!process.stdin.isTTY || argv.json) {
      throw new LinusError({ code: 'INVALID_SPEC', message: 'gc removes VMs: pass --yes to do it, or --dry-run to see what it would remove' });
    }
  }
  const provisioner = loadProvisioner('proxmox');
  await withTarget(argv, commandSources(argv), async (resolved) => {
    const remoteDir = resolved.target.remoteDir;
    const exec = async (args: string[]) =>
      withConnection(resolved.ssh, async (connection) => {
        const { result } = await runProvisioner({ provisioner, remoteDir }, args, (command) => streamCommand(connection, command, () => undefined));
        return result.transcript;
      });
    const base = ['gc', '--remote-dir', remoteDir, '--older-than', String(olderThan)];
    if (!dryRun && !argv.yes) {
      const preview = gcReport(await exec([...base, '--dry-run']), true);
      process.stderr.write(describe(preview));
      if (preview.candidates.length === 0 && preview.staleJobs.length === 0 && preview.staleDownloads.length === 0) dryRun = true;
      else if (!(await confirm("Remove these? Type 'yes': "))) throw new LinusError({ code: 'CANCELLED', message: 'nothing was removed' });
    }
    const report = gcReport(await exec(dryRun ? [...base, '--dry-run'] : base), dryRun);
    if (argv.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(describe(report));
  });
}

const handler = withJsonErrors<ArgumentsCamelCase<GcFlags>>(run);

export const gcCommand: CommandModule<object, GcFlags> = {
  command: 'gc',
  describe: describeOf('gc'),
  builder: (yargs: Argv) =>
    targetOptions(yargs)
      .options({
        'older-than': { type: 'string', describe: 'Only runs older than this (90s, 30m, 1h, 2d) [default: 1h]' },
        'dry-run': { type: 'boolean', describe: 'Only list what would be removed' },
        yes: { type: 'boolean', describe: 'Remove without asking' },
        json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
      })
      .example('$0 gc --host pve.lan --identity ~/.ssh/id_ed25519 --dry-run', 'List leftovers of failed runs')
      .example('$0 gc --host pve.lan --identity ~/.ssh/id_ed25519 --older-than 0 --yes', 'Remove them now') as unknown as Argv<GcFlags>,
  handler,
};
