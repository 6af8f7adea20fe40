import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { effectiveSettings, secretStates } from '../../config/effective.js';
import { commandSources } from '../../config/load.js';
import { CONFIG_HEADER, PROFILE_KEYS, profileSchema, readUserConfig, userConfigPath, writeProfile } from '../../config/profiles.js';
import { LinusError } from '../../protocol/errors.js';
import type { CliContext } from '../io.js';
import { withJsonErrors } from '../json-errors.js';
import { listingFormat, listingOptions, writeListing } from '../listing.js';
import { TARGET_OPTIONS } from '../target-options.js';
import { VM_OPTIONS } from '../vm-options.js';
import { describeOf } from './index.js';

// The settings a profile holds, as flags: the target flags and the VM flags that make sense as defaults.
const { sandbox: _sandbox, config: _config, profile: _profile, ...HOST_FLAGS } = TARGET_OPTIONS;
const { name: _name, password: _password, ...VM_DEFAULT_FLAGS } = VM_OPTIONS;
const SETTING_FLAGS = { ...HOST_FLAGS, ...VM_DEFAULT_FLAGS };
const PATH_KEYS = ['identity', 'knownHosts', 'sshKey'];

const withSettingFlags = <T>(yargs: Argv<T>) =>
  yargs
    .group(Object.keys(HOST_FLAGS), 'Proxmox host:')
    .group(Object.keys(VM_DEFAULT_FLAGS), 'VM defaults:')
    .options(SETTING_FLAGS);

// The profile settings the flags give, checked as the config file will be read back.
function profileFromFlags(argv: Record<string, unknown>): Record<string, unknown> {
  const given: Record<string, unknown> = { ...argv, nodeAddresses: argv.nodeAddress };
  const settings = Object.fromEntries(
    PROFILE_KEYS.filter((key) => given[key] !== undefined).map((key) => {
      const value = given[key];
      return [key, PATH_KEYS.includes(key) && typeof value === 'string' ? path.resolve(value) : value];
    }),
  );
  const parsed = profileSchema.safeParse(settings);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `--${String(issue.path[0] ?? '').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}: ${issue.message}`);
    throw new LinusError({ code: 'INVALID_SPEC', message: lines.join('; '), remediation: 'Fix the named option and run again; nothing was written.' });
  }
  return settings;
}

function init(cli: CliContext, argv: Record<string, unknown>): void {
  const file = userConfigPath(cli.io.env);
  const name = String(argv.profile);
  if (argv.host === undefined) throw new LinusError({ code: 'INVALID_SPEC', message: '--host: is required', remediation: 'Name the Proxmox host the profile is for: linus config init --host pve.lan ...' });
  if (fs.existsSync(file) && !argv.force) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `${file} exists; not overwriting it`, remediation: 'Pass --force to replace it, or edit it (docs/config.md).' });
  }
  const settings = profileFromFlags(argv);
  writeProfile(file, name, settings, { makeDefault: 'always', replace: true, header: `${CONFIG_HEADER}\n Keys in camelCase or kebab-case; --profile NAME or LINUS_PROFILE picks one, else defaultProfile.` });
  cli.io.stdout.write(`Wrote ${file} (mode 600) with profile '${name}', the default.\nCheck it: linus config show\n`);
}

function show(cli: CliContext, argv: Record<string, unknown>): void {
  const sources = commandSources(argv, cli.io.env);
  const settings = effectiveSettings(sources);
  const secrets = secretStates(cli.io.env);
  const profile = sources.profile ? { name: sources.profile.name, file: sources.profile.file } : null;
  const format = listingFormat(argv);
  if (format !== 'table') {
    const body = { ok: true, profile, settings: Object.fromEntries(settings.map(({ key, value, from }) => [key, { value, from }])), secrets };
    return writeListing(cli, format, body, () => '');
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  const width = Math.max(...settings.map(({ key }) => key.length));
  const valueWidth = Math.min(48, Math.max(...settings.map(({ value }) => text(value).length)));
  const lines = [profile ? `Profile: ${profile.name} (${profile.file})` : `Profile: none (${userConfigPath(cli.io.env)} names no default)`, ''];
  for (const { key, value, from } of settings) lines.push(`${key.padEnd(width)}  ${text(value).padEnd(valueWidth)}  ${from}`);
  lines.push('', ...Object.entries(secrets).map(([variable, state]) => `${variable}: ${state}`));
  cli.io.stdout.write(`${lines.join('\n')}\n`);
}

function profiles(cli: CliContext, argv: Record<string, unknown>): void {
  const file = userConfigPath(cli.io.env);
  const config = readUserConfig(file, cli.io.env);
  const list = Object.entries(config?.profiles ?? {}).map(([name, settings]) => ({ name, default: name === config?.defaultProfile, host: settings.host ?? null }));
  const format = listingFormat(argv);
  if (format !== 'table') return writeListing(cli, format, { ok: true, file, defaultProfile: config?.defaultProfile ?? null, profiles: list }, () => '');
  if (list.length === 0) {
    cli.io.stdout.write(`No profiles${config ? ` in ${file}` : `: there is no ${file}`}. Add one: linus config init --host HOST (or linus sandbox up).\n`);
    return;
  }
  const width = Math.max(...list.map(({ name }) => name.length));
  const lines = list.map((entry) => `${entry.default ? '*' : ' '} ${entry.name.padEnd(width)}  ${entry.host ?? '(no host)'}${entry.default ? '  (default)' : ''}`);
  cli.io.stdout.write(`${lines.join('\n')}\n`);
}

export function configCommand(cli: CliContext): CommandModule {
  const initCommand: CommandModule = {
    command: 'init',
    describe: 'Write ~/.config/linus/config.yaml with one profile from the flags given (mode 600)',
    builder: (yargs) =>
      withSettingFlags(yargs)
        .options({
          profile: { type: 'string', default: 'default', describe: 'Name of the profile' },
          force: { type: 'boolean', describe: 'Replace an existing config file' },
        })
        .example('$0 config init --host pve.lan --identity ~/.ssh/id_ed25519 --ssh-key ~/.ssh/id_ed25519.pub', "A 'default' profile; then: linus provision --name web01"),
    handler: (argv) => init(cli, argv),
  };
  const showCommand: CommandModule = {
    command: 'show',
    describe: 'Print the settings a command would use and where each comes from (secrets only as set or not)',
    builder: (yargs) =>
      listingOptions(
        withSettingFlags(yargs).options({
          config: TARGET_OPTIONS.config,
          profile: TARGET_OPTIONS.profile,
        }),
      )
        .example('$0 config show --profile lab', "The 'lab' profile with the environment and ~/.ssh/config applied"),
    handler: withJsonErrors(cli, (argv: Record<string, unknown>) => show(cli, argv)),
  };
  const profilesCommand: CommandModule = {
    command: 'profiles',
    describe: 'List the profiles, the default marked *',
    builder: (yargs) => listingOptions(yargs),
    handler: withJsonErrors(cli, (argv: Record<string, unknown>) => profiles(cli, argv)),
  };
  return {
    command: 'config',
    describe: describeOf('config'),
    builder: (yargs) =>
      yargs
        .command(initCommand)
        .command(showCommand)
        .command(profilesCommand)
        .demandCommand(1, 'Name a config action: init, show or profiles.')
        .strict()
        .example('$0 config show', 'The effective settings and their sources')
        .example('$0 config profiles', 'The profiles in ~/.config/linus/config.yaml'),
    handler: () => undefined,
  };
}
