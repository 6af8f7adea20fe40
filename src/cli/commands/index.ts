import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../io.js';

// A command for one run of the CLI: its handler writes to that run's io and sets its exit code.
// (`any`: a list of commands with different flags has no other yargs type.)
export type CommandFactory = (cli: CliContext) => CommandModule<object, any>;

// Every command, with what `linus --help` says of it. A command's module (and what it imports:
// ssh2, zod schemas, the simulator) loads only when that command runs.
export interface CommandEntry {
  name: string;
  describe: string;
  load: () => Promise<CommandFactory>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'provision', describe: 'Create a VM from a verified cloud image, boot it and wait until SSH answers', load: async () => (await import('./provision.js')).provisionCommand },
  { name: 'ssh', describe: "SSH to a VM (by name or ID) at its address as its user: linus ssh web01 [-- command]", load: async () => (await import('./ssh.js')).sshCommand },
  { name: 'wait', describe: 'Follow a provision started anywhere (by its run id) to its end and print its result, as provision does', load: async () => (await import('./jobs.js')).waitCommand },
  { name: 'logs', describe: "Print a run's host log (--follow: until it ends; -v: with the protocol lines)", load: async () => (await import('./jobs.js')).logsCommand },
  { name: 'runs', describe: 'Recent runs on the host: state, result, VM ID, name and start time', load: async () => (await import('./jobs.js')).runsCommand },
  { name: 'gc', describe: 'Find and remove what failed or interrupted runs left: only linus-tagged VMs of unfinished runs', load: async () => (await import('./gc.js')).gcCommand },
  { name: 'sandbox', describe: 'Run a simulated Proxmox VE host on this machine (up, status, down)', load: async () => (await import('./sandbox.js')).sandboxCommand },
  { name: 'vm', describe: 'Manage VMs: list, status, start, stop, shutdown, reboot, config, set, resize, delete, clone', load: async () => (await import('./vm.js')).vmCommand },
  { name: 'plan', describe: 'What apply would do to make the cluster match a fleet file (create, update, replace, delete), read in one SSH exec', load: async () => (await import('./fleet.js')).planCommand },
  { name: 'apply', describe: 'Make the cluster match a fleet file: create, update, replace and (--prune) delete its VMs, several at once, each rolled back on its own failure', load: async () => (await import('./fleet.js')).applyCommand },
  { name: 'import', describe: 'Bring existing VMs (linus-made or not) into a fleet: tag them and write the fleet file that describes them', load: async () => (await import('./fleet.js')).importCommand },
  { name: 'inventory', describe: "Hosts of linus' VMs (every one, a fleet's, or a fleet file's) with address, user and groups: an Ansible inventory, JSON or ~/.ssh/config blocks", load: async () => (await import('./inventory.js')).inventoryCommand },
  { name: 'capacity', describe: 'CPU, memory and storage use per node (new VMs warn past 80 %, and are refused past 90 % without --force)', load: async () => (await import('./capacity.js')).capacityCommand },
  { name: 'doctor', describe: 'Check the host for linus: what a DHCP provision will meet there, check by check, with the command that fixes each problem (--fix applies the safe ones)', load: async () => (await import('./doctor.js')).doctorCommand },
  { name: 'agent-plan', describe: 'Print the single-line commands an AI agent runs through ssh-mcp to provision a VM (see docs/agents.md)', load: async () => (await import('./agent-plan.js')).agentPlanCommand },
  { name: 'mcp', describe: 'Serve the linus tools to an AI agent over MCP (stdio): provision with progress, manage VMs, clean up; see docs/agents.md', load: async () => (await import('./mcp.js')).mcpCommand },
  { name: 'mcp-config', describe: 'Print or write the ssh-mcp config and the MCP client entry an agent needs to reach the Proxmox host', load: async () => (await import('./mcp-config.js')).mcpConfigCommand },
  { name: 'config', describe: 'Profiles and defaults in ~/.config/linus/config.yaml: init, show (the effective settings and their sources), profiles', load: async () => (await import('./config.js')).configCommand },
  { name: 'completion', describe: 'Print the shell completion script for bash, zsh or fish: source <(linus completion bash)', load: async () => (await import('./completion.js')).completionCommand },
];

export function describeOf(name: string): string {
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`no command ${name}`);
  return entry.describe;
}

// The parsed flags of a command, as its yargs builder declares them.
export type FlagsOf<B extends (yargs: Argv) => Argv<unknown>> = ReturnType<B> extends Argv<infer U> ? U : never;
