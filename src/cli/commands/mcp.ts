import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { commandSources } from '../../config/load.js';
import { startMcpServer } from '../../mcp/server.js';
import type { CliContext } from '../io.js';
import { targetFlagOptions } from '../target-options.js';
import { withTarget } from '../target.js';
import { describeOf, type FlagsOf } from './index.js';

const builder = (yargs: Argv) =>
  // No output levels: stdout is the MCP protocol and the log on stderr is the server's own.
  targetFlagOptions(yargs)
    .options({
      'read-only': { type: 'boolean', describe: 'Offer only the tools that change nothing (list_vms, get_vm, get_capacity, find_leftovers)' },
      'allow-foreign': { type: 'boolean', describe: "Let the tools change VMs linus did not create (no 'linus' tag)" },
    })
    .example('$0 mcp --sandbox', 'The tools against a throwaway simulated Proxmox host')
    .example('$0 mcp --host pve.lan --identity ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts', 'The tools against a real host (an MCP client starts this)');

type McpFlags = ArgumentsCamelCase<FlagsOf<typeof builder>>;

// `linus mcp`: an MCP server on stdin/stdout until the client closes stdin. stdout carries only
// the protocol; the log goes to stderr. The first Ctrl-C cancels running calls (a provision rolls
// back) and ends the server once they have; the second leaves at once.
async function run(cli: CliContext, argv: McpFlags): Promise<void> {
  const { io } = cli;
  const log = (line: string) => io.stderr.write(`linus mcp: ${line}\n`);
  const sources = commandSources(argv, io.env);
  await withTarget(argv, sources, async (resolved) => {
    const server = await startMcpServer({ resolved, sources, readOnly: Boolean(argv.readOnly), allowForeign: Boolean(argv.allowForeign), log }, io.stdin, io.stdout);
    log(`serving ${resolved.ssh.user}@${resolved.ssh.host}:${resolved.ssh.port}${argv.readOnly ? ' (read-only)' : ''}${argv.allowForeign ? ' (foreign VMs allowed)' : ''}`);
    let interrupts = 0;
    const offInterrupt = io.onInterrupt(() => {
      interrupts += 1;
      if (interrupts === 1) return void server.close();
      io.exit(130);
    });
    try {
      await server.done;
    } finally {
      offInterrupt();
    }
  });
}

export function mcpCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'mcp', describe: describeOf('mcp'), builder, handler: (argv) => run(cli, argv) };
}
