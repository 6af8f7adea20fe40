import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { PATTERNS, matches } from '../../config/rules.js';
import { vmAddress } from '../../host/vm-address.js';
import type { OpsDeps } from '../../ops/run-op.js';
import { checkVmRef, findVm } from '../../ops/vm-ref.js';
import type { ListRow } from '../../protocol/data.js';
import { LinusError } from '../../protocol/errors.js';
import { shellJoin } from '../../util/shell-quote.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { withOpsTarget } from '../ops-target.js';
import { targetOptions } from '../target-options.js';
import { describeOf, type FlagsOf } from './index.js';

// `linus ssh <vm> [-- command...]`: the system ssh to a VM's address as its user. --user and
// --identity are the Proxmox host's (target flags); the VM's are --vm-user and --key.

const builder = (yargs: Argv) =>
  targetOptions(yargs)
    // The words after `--` are the remote command, kept apart from linus' own arguments.
    .parserConfiguration({ 'populate--': true })
    .positional('vm', { type: 'string', demandOption: true, describe: 'VM ID or name' })
    .options({
      'vm-user': { type: 'string', describe: "User on the VM [default: the one linus created it with]" },
      key: { type: 'string', describe: 'Private key for the VM (ssh -i) [default: what ssh picks: ssh-agent, ~/.ssh/id_*]' },
      'dry-run': { type: 'boolean', describe: 'Print the ssh command line instead of running it' },
      json: { type: 'boolean', describe: 'With --dry-run: print the VM, its address, user and the ssh argv as JSON' },
    })
    .example('$0 ssh web01', 'A shell on VM web01')
    .example('$0 ssh web01 -- uptime', 'Run one command on it');

type SshFlags = ArgumentsCamelCase<FlagsOf<typeof builder>> & { '--'?: Array<string | number> };

export interface VmLogin {
  vm: Pick<ListRow, 'id' | 'name' | 'node'>;
  address: string;
  user: string;
  addressFrom: 'agent' | 'record';
}

// The running VM's address and user (host/vm-address.ts), or a clear error for what is missing.
export async function vmLogin(deps: OpsDeps, ref: string, vmUser: string | undefined): Promise<VmLogin> {
  const vm = await findVm(deps, ref);
  const label = `VM ${vm.id} '${vm.name}'`;
  if (vm.status !== 'running') {
    throw new LinusError({ code: 'VM_WRONG_STATE', message: `${label} is ${vm.status}, not running`, remediation: `Start it with 'linus vm start ${vm.name}'.` });
  }
  const { address, addressFrom, user } = await vmAddress(deps, vm, vmUser === undefined ? {} : { user: vmUser });
  if (address === undefined || addressFrom === undefined) {
    throw new LinusError({
      code: 'VM_WRONG_STATE',
      message: `${label} runs but linus knows no address for it: its guest agent does not answer and no linus run recorded one`,
      remediation: 'Install qemu-guest-agent in the VM, or look up its address on the console (qm terminal) and run ssh yourself.',
    });
  }
  if (user === undefined) throw new LinusError({ code: 'INVALID_SPEC', message: `linus has no record of the user of ${label}`, remediation: 'Pass --vm-user.' });
  return { vm: { id: vm.id, name: vm.name, node: vm.node }, address, user, addressFrom };
}

// Host keys as plain ssh handles a first contact: recorded, and refused later if they change.
export function sshArgv(login: VmLogin, key: string | undefined, command: readonly string[]): string[] {
  return ['ssh', '-o', 'StrictHostKeyChecking=accept-new', ...(key === undefined ? [] : ['-i', key]), `${login.user}@${login.address}`, ...(command.length > 0 ? ['--', ...command] : [])];
}

// Whether ~/.ssh/known_hosts has a key for the address (ssh-keygen -F also reads hashed entries).
function knownHost(home: string | undefined, address: string): boolean {
  const file = path.join(home ?? os.homedir(), '.ssh', 'known_hosts');
  if (!fs.existsSync(file)) return false;
  return spawnSync('ssh-keygen', ['-F', address, '-f', file], { stdio: 'ignore' }).status === 0;
}

function runSsh(cli: CliContext, argv: string[]): Promise<number> {
  // ssh owns the terminal; Ctrl-C is for it (it gets it from the terminal too), not for linus.
  const off = cli.io.onInterrupt(() => undefined);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: 'inherit', env: cli.io.env });
    child.on('error', (error: NodeJS.ErrnoException) => {
      off();
      reject(
        error.code === 'ENOENT'
          ? new LinusError({ code: 'MISSING_DEPENDENCY', message: 'no ssh program on this machine', remediation: 'Install the OpenSSH client (openssh-client).' })
          : error,
      );
    });
    child.on('close', (code, signal) => {
      off();
      resolve(code ?? (signal === null ? 255 : 128 + (os.constants.signals[signal] ?? 0)));
    });
  });
}

async function run(cli: CliContext, argv: SshFlags): Promise<void> {
  if (argv.vmUser !== undefined && !matches('vmUser', argv.vmUser)) throw new LinusError({ code: 'INVALID_SPEC', message: `--vm-user: ${PATTERNS.vmUser.rule}` });
  if (argv.key !== undefined && !fs.existsSync(argv.key)) throw new LinusError({ code: 'CONFIG_INVALID', message: `--key ${argv.key} does not exist`, remediation: 'Pass the path of the private key for the VM.' });
  checkVmRef(argv.vm);
  const command = (argv['--'] ?? []).map(String);
  let login: VmLogin | undefined;
  await withOpsTarget(cli, argv, true, async (deps) => {
    login = await vmLogin(deps, argv.vm, argv.vmUser);
  });
  if (login === undefined) return;
  const ssh = sshArgv(login, argv.key, command);
  if (argv.dryRun) {
    if (argv.json) cli.io.stdout.write(`${JSON.stringify({ ok: true, ...login, argv: ssh })}\n`);
    else cli.io.stdout.write(`${shellJoin(ssh)}\n`);
    return;
  }
  if (!knownHost(cli.io.env.HOME, login.address)) {
    cli.io.stderr.write(`linus: first connection to ${login.address}: ssh records its host key in ~/.ssh/known_hosts (and refuses it if it ever changes)\n`);
  }
  cli.exitCode = await runSsh(cli, ssh);
}

export function sshCommand(cli: CliContext): CommandModule<object, FlagsOf<typeof builder>> {
  return { command: 'ssh <vm>', describe: describeOf('ssh'), builder, handler: withJsonErrors(cli, (argv: SshFlags) => run(cli, argv)) };
}
