import { commandSources, type Sources } from '../config/load.js';
import { parseNodeAddresses } from '../host/nodes.js';
import type { OpsDeps } from '../ops/run-op.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { CliContext } from './io.js';
import { hostLinesFor } from './render/progress.js';
import type { LevelFlags, TargetFlags } from './target-options.js';
import { withTarget, type ResolvedTarget } from './target.js';

// Resolves the target (a real host or --sandbox) and hands the operations what they need to reach
// it; the host's own lines go to stderr as they come, as far as -v/-vv ask for them. <sources>:
// the command's own (flags, environment, --config, profile) unless it adds a layer (a fleet file).
export async function withOpsTarget(
  cli: CliContext,
  argv: TargetFlags & LevelFlags,
  fn: (deps: OpsDeps, resolved: ResolvedTarget) => Promise<void>,
  sources: Sources = commandSources(argv, cli.io.env),
): Promise<void> {
  const provisioner = loadProvisioner('vm');
  const onEvent = await hostLinesFor(cli, argv);
  await withTarget(argv, sources, async (resolved) => {
    const deps: OpsDeps = {
      ssh: resolved.ssh,
      remoteDir: resolved.target.remoteDir,
      nodeAddresses: parseNodeAddresses(resolved.target.nodeAddresses),
      provisioner,
      onEvent,
    };
    return fn(deps, resolved);
  });
}
