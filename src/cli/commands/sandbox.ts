import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../io.js';
import { describeOf } from './index.js';
import { defaultSandboxDir, readSandbox, sandboxDown, sandboxEnv, sandboxFlags, sandboxOptionsSchema, sandboxSshCommand, sandboxUp, type SandboxInfo } from '../../sim/sandbox.js';
import { VERSION_PROFILES } from '../../sim/settings.js';
import { shellQuote } from '../../util/shell-quote.js';
import { CONFIG_HEADER, readUserConfig, userConfigPath, writeProfile } from '../../config/profiles.js';

export const SANDBOX_PROFILE = 'sandbox';

// The 'sandbox' profile: everything `provision --profile sandbox --name web01` needs, the
// sandbox's own key for the VM user and its image server's copies of the OS images.
export function sandboxProfile(info: SandboxInfo): Record<string, unknown> {
  return {
    host: info.host,
    port: info.port,
    user: info.user,
    identity: info.identityFile,
    knownHosts: info.knownHostsFile,
    node: info.node,
    storage: info.storage,
    bridge: info.bridge,
    remoteDir: info.remoteDir,
    sshKey: `${info.identityFile}.pub`,
    images: info.images,
  };
}

// A broken user config must not fail `down` after the sandbox is gone: it only words the message.
function hasProfile(file: string, env: NodeJS.ProcessEnv): boolean {
  try {
    return readUserConfig(file, env)?.profiles[SANDBOX_PROFILE] !== undefined;
  } catch {
    return false;
  }
}

// Writes the profile and says so, in one line for the text output.
function saveSandboxProfile(env: NodeJS.ProcessEnv, info: SandboxInfo): { file: string; madeDefault: boolean; line: string } {
  const file = userConfigPath(env);
  const { madeDefault } = writeProfile(file, SANDBOX_PROFILE, sandboxProfile(info), { makeDefault: 'if-none', header: CONFIG_HEADER });
  const line = madeDefault
    ? `Profile '${SANDBOX_PROFILE}' written to ${file} (the default profile: linus commands without --profile use it).`
    : `Profile '${SANDBOX_PROFILE}' written to ${file}: use --profile ${SANDBOX_PROFILE}.`;
  return { file, madeDefault, line };
}

interface DirArgs {
  dir: string | undefined;
}

function withDir<T>(yargs: Argv<T>): Argv<T & DirArgs> {
  return yargs.option('dir', {
    type: 'string',
    describe: 'Sandbox directory (default: $LINUS_SANDBOX_DIR or ~/.local/state/linus/sandbox)',
  });
}

function describeTransport(info: SandboxInfo): string {
  return info.transport === 'sshd' ? 'OpenSSH sshd' : 'embedded ssh2 server';
}

export function sandboxJson(dir: string, info: SandboxInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    state: 'up',
    dir,
    ...extra,
    ...info,
    flags: sandboxFlags(info).flat(),
    env: sandboxEnv(info),
    sshCommand: sandboxSshCommand(info),
  };
}

// Human text: the flags, the same as environment, and a plain ssh line to try it.
export function sandboxText(dir: string, info: SandboxInfo, headline: string): string {
  const flags = sandboxFlags(info)
    .map(([flag, value]) => `${flag} ${shellQuote(value)}`)
    .join(' ');
  const env = Object.entries(sandboxEnv(info))
    .map(([key, value]) => `  export ${key}=${shellQuote(value)}`)
    .join('\n');
  return `${headline}
  simulated Proxmox VE ${info.pveVersion} (not a real host; see docs/simulator.md), node ${info.node}, pid ${info.pid}
  SSH: ${describeTransport(info)} on ${info.host}:${info.port}, host key ${info.hostKeyFingerprint}
  image: ${info.imageUrl}

Flags for linus:
  ${flags}

Environment:
${env}

Try it with plain ssh:
  ${sandboxSshCommand(info)}

Stop it: linus sandbox down --dir ${shellQuote(dir)}
`;
}

export function sandboxCommand(cli: CliContext): CommandModule {
  const upCommand: CommandModule<DirArgs, DirArgs & { sshd: boolean; 'existing-vms': number; version: string; prepared: boolean; json: boolean }> = {
    command: 'up',
    describe: "Start a simulated Proxmox VE host in the background, print how to reach it and write a 'sandbox' profile",
    builder: (yargs) =>
      withDir(yargs)
        .version(false)
        .option('sshd', { type: 'boolean', default: false, describe: 'Serve SSH with a real OpenSSH sshd (needs root and openssh-server)' })
        .option('existing-vms', { type: 'number', default: 0, describe: 'VMs the host already has' })
        .option('version', { type: 'string', choices: Object.keys(VERSION_PROFILES), default: '8.4', describe: 'Proxmox VE version to simulate' })
        .option('prepared', { type: 'boolean', default: false, describe: "A host prepared for linus (snippets on 'local', as 'linus doctor --fix' leaves it) instead of a stock install" })
        .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
        .example('$0 sandbox up', 'Start the sandbox in the default directory')
        .example('$0 sandbox up --sshd --version 8.2 --existing-vms 3', 'Real sshd, PVE 8.2, three VMs already there') ,
    handler: async (argv) => {
      const dir = argv.dir ?? defaultSandboxDir();
      const options = sandboxOptionsSchema.parse({ sshd: argv.sshd, existingVms: argv['existing-vms'], version: argv.version, prepared: argv.prepared });
      const { alreadyUp, info } = await sandboxUp(dir, options);
      if (alreadyUp && (info.pveVersion !== options.version || (info.transport === 'sshd') !== options.sshd)) {
        cli.io.stderr.write(`linus: the running sandbox keeps its settings (PVE ${info.pveVersion}, ${describeTransport(info)}); run 'linus sandbox down' first to change them.\n`);
      }
      const headline = alreadyUp ? `A linus sandbox is already up in ${dir}.` : `Started a linus sandbox in ${dir}.`;
      // The sandbox is up either way: a user config linus cannot write to costs only the profile.
      let profile: ReturnType<typeof saveSandboxProfile> | undefined;
      try {
        profile = saveSandboxProfile(cli.io.env, info);
      } catch (error) {
        cli.io.stderr.write(`linus: no '${SANDBOX_PROFILE}' profile written: ${(error as Error).message}\n`);
      }
      const profileJson = profile ? { profile: { name: SANDBOX_PROFILE, file: profile.file, default: profile.madeDefault } } : {};
      cli.io.stdout.write(
        argv.json
          ? `${JSON.stringify(sandboxJson(dir, info, { alreadyUp, ...profileJson }))}\n`
          : `${sandboxText(dir, info, headline)}${profile ? `\n${profile.line}\n  linus provision --profile ${SANDBOX_PROFILE} --name web01\n` : ''}`,
      );
    },
  };

  const statusCommand: CommandModule<DirArgs, DirArgs & { json: boolean }> = {
    command: 'status',
    describe: 'Say whether the sandbox is up, and how to reach it',
    builder: (yargs) =>
      withDir(yargs)
        .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' })
        .example('$0 sandbox status --json', 'Machine-readable state and connection details') ,
    handler: (argv) => {
      const dir = argv.dir ?? defaultSandboxDir();
      const current = readSandbox(dir);
      if (argv.json) {
        const body = current.state === 'up' ? sandboxJson(dir, current.info) : { state: current.state, dir, ...(current.state === 'down' ? {} : { pid: current.pid ?? null }) };
        cli.io.stdout.write(`${JSON.stringify(body)}\n`);
      } else if (current.state === 'up') {
        cli.io.stdout.write(sandboxText(dir, current.info, `The linus sandbox in ${dir} is up.`));
      } else if (current.state === 'down') {
        cli.io.stdout.write(`No linus sandbox in ${dir} (down). Start one: linus sandbox up\n`);
      } else if (current.state === 'starting') {
        cli.io.stdout.write(`The linus sandbox in ${dir} is starting (daemon pid ${current.pid ?? 'not yet known'}).\n`);
      } else {
        cli.io.stdout.write(`The linus sandbox in ${dir} is stale: its daemon${current.pid === undefined ? '' : ` (pid ${current.pid})`} is not running. Clean it up: linus sandbox down --dir ${shellQuote(dir)}\n`);
      }
    },
  };

  const downCommand: CommandModule<DirArgs, DirArgs> = {
    command: 'down',
    describe: 'Stop the sandbox (its VMs too) and remove its directory',
    builder: (yargs) => withDir(yargs).example('$0 sandbox down', 'Stop the sandbox in the default directory') ,
    handler: async (argv) => {
      const dir = argv.dir ?? defaultSandboxDir();
      const { was } = await sandboxDown(dir);
      const messages = {
        down: `No linus sandbox in ${dir}; nothing to do.`,
        up: `Stopped the linus sandbox in ${dir} and removed the directory.`,
        starting: `Stopped the starting linus sandbox in ${dir} and removed the directory.`,
        stale: `The linus sandbox in ${dir} was stale (its daemon was not running); cleaned it up and removed the directory.`,
      };
      const file = userConfigPath(cli.io.env);
      const kept = was !== 'down' && hasProfile(file, cli.io.env) ? ` The '${SANDBOX_PROFILE}' profile in ${file} stays; it points at nothing until the next 'linus sandbox up'.` : '';
      cli.io.stdout.write(`${messages[was]}${kept}\n`);
    },
  };

  return {
    command: 'sandbox',
    describe: describeOf('sandbox'),
    builder: (yargs) =>
      yargs
        .command(upCommand as CommandModule)
        .command(statusCommand as CommandModule)
        .command(downCommand as CommandModule)
        .demandCommand(1, 'Name a sandbox action: up, status or down.')
        .strict()
        .example('$0 sandbox up', 'Start it; prints the linus flags, LINUS_* variables and an ssh line')
        .example('$0 sandbox status', 'Is it up, and where')
        .example('$0 sandbox down', 'Stop it and remove its directory'),
    handler: () => undefined,
  };
}
