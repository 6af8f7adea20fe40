import type { Argv, Options } from 'yargs';
import { LinusError } from '../protocol/errors.js';

export interface TargetFlags {
  host?: string;
  port?: number;
  user?: string;
  identity?: string;
  knownHosts?: string;
  hostKey?: string[];
  acceptNewHostKey?: boolean;
  node?: string;
  storage?: string;
  snippetsStorage?: string;
  bridge?: string;
  remoteDir?: string;
  connectTimeout?: number;
  nodeAddress?: string[];
  config?: string;
  profile?: string;
  sandbox?: boolean;
}

// The flags that say where the Proxmox host is and how to trust it; no defaults here so that
// LINUS_* variables and --config can fill what flags leave out (see src/config/load.ts).
// agent-plan and mcp-config take some of them too, from here so the help texts cannot drift.
export const TARGET_OPTIONS = {
  host: { type: 'string', describe: 'Proxmox host name or address (LINUS_HOST)' },
  port: { type: 'number', describe: 'SSH port [default: 22]' },
  user: { type: 'string', describe: 'SSH user [default: root]' },
  identity: { type: 'string', describe: 'Private key file (else ssh-agent, else LINUS_SSH_PASSWORD)' },
  'known-hosts': { type: 'string', describe: 'known_hosts file [default: ~/.ssh/known_hosts]' },
  'host-key': { type: 'string', array: true, describe: 'Pin the host key: SHA256:... as ssh-keygen -l prints it' },
  'accept-new-host-key': { type: 'boolean', describe: 'Record a first-seen host key in --known-hosts (a changed key is still refused)' },
  'connect-timeout': { type: 'number', describe: 'Seconds to wait for the SSH connection [default: 15]' },
  node: { type: 'string', describe: 'Proxmox node [default: pve]' },
  storage: { type: 'string', describe: 'Storage for the disk [default: local-lvm]' },
  'snippets-storage': { type: 'string', describe: 'Storage with snippets content for the guest-agent vendor-data [default: one the node has]' },
  bridge: { type: 'string', describe: 'Network bridge [default: vmbr0]' },
  'node-address': { type: 'string', array: true, describe: 'SSH address of another cluster node, <node>=<host>[:port], repeatable (LINUS_NODE_ADDRESSES="a=h1,b=h2"; nodeAddresses in --config)' },
  'remote-dir': { type: 'string', describe: 'linus state on the host [default: /var/lib/linus]' },
  config: { type: 'string', describe: 'JSON or YAML file with any of these settings' },
  profile: { type: 'string', describe: 'Profile of ~/.config/linus/config.yaml to take settings from (LINUS_PROFILE; else its defaultProfile)' },
  sandbox: { type: 'boolean', describe: 'Use a throwaway simulated Proxmox host instead (nothing real is touched)' },
} as const satisfies Record<string, Options>;

// The output level flags, as every command that talks to the host takes them (src/cli/render/
// levels.ts says what each level shows). `logs` prints the host log itself: its -v adds the rest.
export const LEVEL_OPTIONS = {
  quiet: { alias: 'q', type: 'boolean', describe: 'Only the result (a provision: "<id> <name> <address>"); errors and warnings still on stderr' },
  verbose: { alias: 'v', type: 'count', describe: 'More progress on stderr: -v adds the Proxmox calls and host log lines, -vv everything the host sends' },
  'log-format': { type: 'string', choices: ['plain', 'json', 'pretty'] as const, describe: 'Progress on stderr as plain lines [default], pino JSON records or pino-pretty' },
} as const satisfies Record<string, Options>;

export interface LevelFlags {
  quiet?: boolean | undefined;
  verbose?: number | undefined;
  logFormat?: string | undefined;
}

// Where new VMs go: only the commands that create VMs or check the host for them (provision,
// doctor, mcp) take these; every other command takes HOST_OPTIONS, so none lists a flag it ignores.
const PLACEMENT_KEYS: readonly string[] = ['node', 'storage', 'snippets-storage', 'bridge'] satisfies Array<keyof typeof TARGET_OPTIONS>;
export const HOST_OPTIONS = Object.fromEntries(Object.entries(TARGET_OPTIONS).filter(([key]) => !PLACEMENT_KEYS.includes(key))) as Omit<typeof TARGET_OPTIONS, 'node' | 'storage' | 'snippets-storage' | 'bridge'>;

// The target flags alone: `linus mcp`, whose stdout is the protocol and which has no progress.
export function targetFlagOptions<T>(yargs: Argv<T>) {
  return yargs.group(Object.keys(TARGET_OPTIONS), 'Proxmox host:').options(TARGET_OPTIONS);
}

function levelOptions<T>(yargs: Argv<T>) {
  return yargs
    .group(Object.keys(LEVEL_OPTIONS), 'Output:')
    .options(LEVEL_OPTIONS)
    .check((argv) => {
      if (argv.quiet && Number(argv.verbose) > 0) throw new LinusError({ code: 'INVALID_SPEC', message: '--quiet and --verbose contradict each other', remediation: 'Pass one of them.' });
      return true;
    });
}

// The target flags with placement, and the output levels: provision and doctor.
export function targetOptions<T>(yargs: Argv<T>) {
  return levelOptions(targetFlagOptions(yargs));
}

// The host flags and the output levels: every other command that talks to the host.
export function hostOptions<T>(yargs: Argv<T>) {
  return levelOptions(yargs.group(Object.keys(HOST_OPTIONS), 'Proxmox host:').options(HOST_OPTIONS));
}

// --json, as every command that talks to the host takes it.
export const OUTPUT_OPTIONS = {
  json: { type: 'boolean', describe: 'Print one JSON object on stdout' },
} as const satisfies Record<string, Options>;
