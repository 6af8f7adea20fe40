import type { ToolContext } from './context.js';
import { ParamError } from './die.js';

// A CLIHandler-style command table: nested subcommands, aliases, unique-prefix expansion, and the
// short usage line attached to 400 errors.
export type CommandRun = (ctx: ToolContext, args: string[]) => Promise<number>;

export interface Command {
  usage: string;
  load: () => Promise<CommandRun>;
}

export type CommandTree = { [name: string]: Command | CommandTree | { alias: string } };

const isCommand = (entry: unknown): entry is Command => typeof entry === 'object' && entry !== null && 'load' in entry;
const isAlias = (entry: unknown): entry is { alias: string } => typeof entry === 'object' && entry !== null && 'alias' in entry;

function expand(tree: CommandTree, name: string): string | undefined {
  if (name in tree) return name;
  const matches = Object.keys(tree).filter((key) => key.startsWith(name) && !isAlias(tree[key]));
  return matches.length === 1 ? matches[0] : undefined;
}

function usageLines(tree: CommandTree): string[] {
  const lines: string[] = [];
  for (const key of Object.keys(tree).sort()) {
    const entry = tree[key];
    if (isCommand(entry)) lines.push(entry.usage);
    else if (!isAlias(entry) && entry) lines.push(...usageLines(entry));
  }
  return lines;
}

export async function dispatch(ctx: ToolContext, exe: string, tree: CommandTree, argv: string[]): Promise<number> {
  let args = [...argv];
  let node: CommandTree = tree;
  let shown = exe;
  for (let i = 0; i < args.length; i += 1) {
    const name = expand(node, args[i] as string) ?? (args[i] as string);
    shown += ` ${name}`;
    const entry = node[name];
    if (entry === undefined) break;
    if (isAlias(entry)) {
      args = [...args.slice(0, i), ...entry.alias.split(' '), ...args.slice(i + 1)];
      return dispatch(ctx, exe, tree, args);
    }
    if (isCommand(entry)) {
      ctx.command = args.slice(0, i + 1).join(' ');
      const run = await entry.load();
      try {
        return await run(ctx, args.slice(i + 1));
      } catch (error) {
        if (error instanceof ParamError) error.usage = `${entry.usage}\n`;
        throw error;
      }
    }
    node = entry;
  }
  // CLIHandler `$abort` → print_usage_short to stderr, exit(-1).
  const reason = args.length === 0 ? 'no command specified' : `unknown command '${shown}'`;
  ctx.err(`ERROR: ${reason}\nUSAGE: ${exe} <COMMAND> [ARGS] [OPTIONS]\n\n${usageLines(tree).map((line) => `       ${line}\n`).join('')}`);
  return 255;
}
