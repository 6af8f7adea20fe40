import { commandSources, type Sources } from '../config/load.js';
import { parseNodeAddresses } from '../host/nodes.js';
import type { OpsDeps } from '../ops/run-op.js';
import { isProgressLog } from '../protocol/records.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { CliContext } from './io.js';
import type { TargetFlags } from './target-options.js';
import { withTarget, type ResolvedTarget } from './target.js';

// Resolves the target (a real host or --sandbox) and hands the operations what they need to reach
// it; unless quiet, the host's own progress lines go to stderr as they come. <sources>: the
// command's own (flags, environment, --config, profile) unless it adds a layer (a fleet file).
export async function withOpsTarget(
  cli: CliContext,
  argv: TargetFlags,
  quiet: boolean,
  fn: (deps: OpsDeps, resolved: ResolvedTarget) => Promise<void>,
  sources: Sources = commandSources(argv, cli.io.env),
): Promise<void> {
  const provisioner = loadProvisioner('vm');
  await withTarget(argv, sources, async (resolved) => {
    const onLog = (line: string) => {
      if (isProgressLog(line)) cli.io.stderr.write(`linus: ${line}\n`);
    };
    const deps: OpsDeps = {
      ssh: resolved.ssh,
      remoteDir: resolved.target.remoteDir,
      nodeAddresses: parseNodeAddresses(resolved.target.nodeAddresses),
      provisioner,
      ...(quiet ? {} : { onLog }),
    };
    return fn(deps, resolved);
  });
}
