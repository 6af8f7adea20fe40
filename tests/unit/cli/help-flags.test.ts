import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/driver.js';

// Every command's --help lists only flags it reads. The flags that say where new VMs go are
// the ones an operator would expect to act everywhere; each command that lists one is here with
// what it does with it, so a command that lists one without reading it (as `vm delete --storage`
// did) fails this test until it reads it or stops listing it.
const READERS: Record<string, string[]> = {
  // Where the VM is created (a provision, a fleet's creates), or what doctor checks a provision would meet.
  node: ['provision', 'plan', 'apply', 'doctor', 'mcp', 'agent-plan', 'mcp-config', 'config init', 'config show', 'vm list', 'capacity'],
  storage: ['provision', 'plan', 'apply', 'doctor', 'mcp', 'agent-plan', 'mcp-config', 'config init', 'config show'],
  bridge: ['provision', 'plan', 'apply', 'doctor', 'mcp', 'agent-plan', 'mcp-config', 'config init', 'config show'],
  'snippets-storage': ['provision', 'plan', 'apply', 'doctor', 'mcp', 'mcp-config', 'config init', 'config show'],
};

async function help(command: string): Promise<string> {
  const result = await runCli([...command.split(' ').filter(Boolean), '--help']);
  expect(result.code, `${command} --help: ${result.stderr}`).toBe(0);
  return result.stdout;
}

// The subcommands the Commands: section of a help text lists ("  linus vm list  ..."), without
// their positionals.
function subcommandsIn(parent: string, text: string): string[] {
  const prefix = parent === '' ? 'linus ' : `linus ${parent} `;
  const section = text.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}(linus [a-z][a-z -]*?)(?= <| \[| {2}|$)/gm)]
    .map((match) => (match[1] as string).trim())
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice('linus '.length));
}

const flagsIn = (text: string) => new Set([...text.matchAll(/^\s+(?:-[a-zA-Z], )?--([a-z][a-z-]*)/gm)].map((match) => match[1] as string));

async function everyCommand(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const queue = subcommandsIn('', await help(''));
  while (queue.length > 0) {
    const command = queue.shift() as string;
    const text = await help(command);
    const children = subcommandsIn(command, text).filter((child) => child !== command);
    if (children.length > 0) queue.push(...children);
    else out.set(command, flagsIn(text));
  }
  return out;
}

describe('--help of every command', () => {
  it('lists --node, --storage, --bridge and --snippets-storage only where the command reads them', async () => {
    const commands = await everyCommand();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['provision', 'vm list', 'vm delete', 'vm clone', 'capacity', 'gc', 'ssh', 'wait', 'logs', 'runs', 'sandbox up', 'config show']));
    for (const [flag, readers] of Object.entries(READERS)) {
      const listing = [...commands].filter(([, flags]) => flags.has(flag)).map(([command]) => command);
      expect(listing.sort(), `commands listing --${flag}`).toEqual([...readers].sort());
    }
  });

  it('an ops command refuses a placement flag instead of ignoring it', async () => {
    const result = await runCli(['vm', 'delete', '100', '--yes', '--storage', 'local-lvm', '--host', 'pve.invalid']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/storage/);
  });
});
