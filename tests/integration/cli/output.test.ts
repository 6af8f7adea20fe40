import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { SPINNER_FRAMES } from '../../../src/cli/render/status-line.js';
import { CLI, runCli, startTarget, type CliResult, type Target } from '../../helpers/driver.js';

// Output levels, colour, -o and shell completion (docs/output.md), against the simulated host.

const NO_USER_CONFIG = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-output-'));

// The CLI in this process with stderr on a (fake) terminal 100 columns wide.
async function runOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text) => void (stdout += text) },
    stderr: { isTTY: true, columns: 100, write: (text) => void (stderr += text) },
    stdin: Readable.from([]),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CONFIG_HOME: NO_USER_CONFIG, ...env },
    onInterrupt: () => () => undefined,
    exit: () => undefined,
  };
  const code = await main(args, io);
  return { code, signal: null, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> };
}

const STEPS = Array.from({ length: 9 }, (_, index) => `linus: [${index + 1}/9] `);
const stepLines = (stderr: string) => stderr.split('\n').filter((line) => /^linus: \[\d\/9\] /.test(line));

describe('output levels of a provision, piped', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());

  it('by default: one plain line per step, the run id and the VM ID; no Proxmox call, no protocol line', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-default')]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.every((line) => line.startsWith('linus: ')), result.stderr).toBe(true);
    expect(stepLines(result.stderr).map((line) => line.slice(0, STEPS[0]?.length))).toEqual(STEPS);
    expect(result.stderr).toMatch(/^linus: job r[a-z0-9]+-[0-9a-f]{8} started$/m);
    expect(result.stderr).toMatch(/^linus: VM ID \d+ claimed$/m);
    expect(result.stderr).not.toMatch(/call: |LINUS_|qm: /);
    // Steps, the upload, the job's start and the claim: no host log line.
    expect(lines.length).toBeLessThanOrEqual(13);
    expect(result.stdout).toMatch(/^VM \d+ 'level-default' is ready on node pve/);
  });

  it('-v adds the Proxmox calls and the host log lines, still no protocol line', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-v'), '-v']);
    expect(result.code, result.stderr).toBe(0);
    expect(stepLines(result.stderr)).toHaveLength(9);
    expect(result.stderr).toMatch(/^linus: call: qm create \d+ --name level-v /m);
    expect(result.stderr).toMatch(/^linus: call: qm start \d+$/m);
    expect(result.stderr).toMatch(/^linus: SSH answers on [0-9.]+:22$/m);
    expect(result.stderr).not.toContain('LINUS_');
  });

  it('-vv shows everything the host sends, the protocol records too', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-vv'), '-vv']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^linus: LINUS_STEP:1\/9:validate$/m);
    expect(result.stderr).toMatch(/^linus: LINUS_RESULT:SUCCESS$/m);
    expect(result.stderr).toMatch(/^linus: call: qm create /m);
    expect(stepLines(result.stderr)).toHaveLength(9);
  });

  it('-q prints only "<id> <name> <address>", with --json the JSON alone, and refuses -v beside it', async () => {
    const quiet = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-q'), '-q']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^\d+ level-q 127\.\d+\.\d+\.\d+\n$/);
    expect(quiet.stderr).toBe('');
    const both = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-qv'), '-q', '-v', '--json']);
    expect(both.code).toBe(1);
    expect(both.json().error).toMatchObject({ code: 'INVALID_SPEC', message: '--quiet and --verbose contradict each other' });
    expect(target.simHost.listVms().some((vm) => vm.config.name === 'level-qv')).toBe(false);
  });

  it('--log-format json: one pino record per line shown, at the same levels', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-pino'), '--log-format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const records = result.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { msg: string; event: string; name: string; runId: string });
    expect(records.filter((record) => record.event === 'step').map((record) => record.msg.slice(0, 6))).toEqual(Array.from({ length: 9 }, (_, index) => `[${index + 1}/9] `));
    expect(records.every((record) => record.name === 'level-pino')).toBe(true);
    expect(records.some((record) => record.msg.startsWith('call: '))).toBe(false);
    const verbose = await runCli(['provision', ...target.flags(), ...target.vmFlags('level-pino-v'), '--log-format', 'json', '-v']);
    expect(verbose.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string }).some((record) => record.msg.startsWith('call: qm create'))).toBe(true);
  });

  it('an operation shows no host line by default and its calls with -v; -q prints what a script reads', async () => {
    const id = String(target.simHost.listVms().find((vm) => vm.config.name === 'level-default')?.vmid);
    const stop = await runCli(['vm', 'stop', 'level-default', ...target.flags()]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stderr).toBe('');
    const start = await runCli(['vm', 'start', 'level-default', ...target.flags(), '-v']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toMatch(new RegExp(`^linus: call: qm start ${id}$`, 'm'));
    expect((await runCli(['vm', 'status', 'level-default', ...target.flags(), '-q'])).stdout).toBe('running\n');
    const list = await runCli(['vm', 'list', ...target.flags(), '-q']);
    expect(list.stdout.trimEnd().split('\n')).toContain(id);
    expect(list.stdout).toMatch(/^(\d+\n)+$/);
    const runs = await runCli(['runs', ...target.flags(), '-q']);
    expect(runs.stdout).toMatch(/^(r[a-z0-9]+-[0-9a-f]{8}\n)+$/);
  });
});

describe('listings: -o json|yaml|table', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('listed'), '-q']);
    expect(result.code, result.stderr).toBe(0);
    // The vm provisioner uploaded once: every listing below costs the same execs.
    await runCli(['vm', 'list', ...target.flags()]);
  });
  afterAll(async () => target.dispose());

  it.each([[['vm', 'list']], [['capacity']], [['runs']]])('%j: -o json is --json byte for byte, -o yaml parses back to it, -o table is the default text', async (command) => {
    // Capacity is live (a node's CPU and memory use move between two calls): its figures are
    // compared as figures, the rest byte for byte.
    const same = command[0] === 'capacity' ? (text: string) => text.replace(/[0-9][0-9.]*/g, '0').replace(/ +/g, ' ') : (text: string) => text;
    const json = await runCli([...command, ...target.flags(), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const o = await runCli([...command, ...target.flags(), '-o', 'json']);
    expect(same(o.stdout)).toBe(same(json.stdout));
    const yaml = await runCli([...command, ...target.flags(), '--output', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(same(JSON.stringify(parse(yaml.stdout)))).toEqual(same(JSON.stringify(json.json())));
    const table = await runCli([...command, ...target.flags(), '-o', 'table']);
    expect(same(table.stdout)).toBe(same((await runCli([...command, ...target.flags()])).stdout));
    expect(table.stdout).toContain(command[0] === 'capacity' ? 'NODE' : 'listed');
  });

  it('config profiles and config show take -o too', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-output-config-'));
    fs.mkdirSync(path.join(home, 'linus'));
    fs.writeFileSync(path.join(home, 'linus', 'config.yaml'), 'defaultProfile: lab\nprofiles:\n  lab:\n    host: pve.lab\n');
    const env = { XDG_CONFIG_HOME: home };
    for (const command of [['config', 'profiles'], ['config', 'show']]) {
      const json = await runCli([...command, '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      expect((await runCli([...command, '-o', 'json'], env)).stdout).toBe(json.stdout);
      expect(parse((await runCli([...command, '-o', 'yaml'], env)).stdout)).toEqual(json.json());
    }
  });

  it('a failure under -o json is the one JSON object, as with --json, under -o yaml the message on stderr; --json with -o yaml is refused', async () => {
    const failed = await runCli(['vm', 'list', ...target.flags({ port: '1' }), '-o', 'json']);
    expect(failed.code).toBe(20);
    expect(failed.json()).toMatchObject({ ok: false, error: { code: 'CONNECTION_FAILED' } });
    const yaml = await runCli(['vm', 'list', ...target.flags({ port: '1' }), '-o', 'yaml']);
    expect(yaml.code).toBe(20);
    expect(yaml.stdout).toBe('');
    expect(yaml.stderr).toContain('[CONNECTION_FAILED]');
    const both = await runCli(['capacity', ...target.flags(), '--json', '-o', 'yaml']);
    expect(both.code).toBe(1);
    expect(both.json().error.message).toBe('--json and -o yaml contradict each other');
  });
});

describe('progress on a terminal', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());

  it('draws each step in place with a spinner and its elapsed time, in colour, and leaves one line per step', async () => {
    const result = await runOnTerminal(['provision', ...target.flags(), ...target.vmFlags('tty')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('\r\x1b[2K');
    const frames = SPINNER_FRAMES.filter((frame) => result.stderr.includes(`\x1b[36m${frame}\x1b[39m [`));
    expect(frames.length).toBeGreaterThan(1);
    // What stays on the screen: the text after the last in-place redraw of each line.
    const screen = result.stderr.split('\n').map((line) => line.split('\r\x1b[2K').pop() ?? '');
    const done = screen.filter((line) => line.includes('✓'));
    expect(done).toHaveLength(9);
    for (const [index, line] of done.entries()) expect(line).toMatch(new RegExp(`^\\x1b\\[32m✓\\x1b\\[39m \\[${index + 1}/9\\] .+  \\x1b\\[2m\\d+\\.\\ds\\x1b\\[22m$`));
    expect(screen).toContain('job ' + /job (\S+) started/.exec(result.stderr)?.[1] + ' started');
    expect(result.stdout).toMatch(/^VM \d+ 'tty' is ready/);
  });

  it('NO_COLOR (any non-empty value) and --color never turn the colour off, not the live lines; --color always wins over NO_COLOR', async () => {
    for (const [args, env] of [[[], { NO_COLOR: '1' }], [['--color', 'never'], {}]] as Array<[string[], NodeJS.ProcessEnv]>) {
      const result = await runOnTerminal(['provision', ...target.flags(), ...target.vmFlags(`plain-${args.length}`), ...args], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('\r\x1b[2K');
      expect(result.stderr).toMatch(/✓ \[9\/9\] reporting {2}\d+\.\ds\n/);
      expect(result.stderr).not.toMatch(/\x1b\[3\dm/);
    }
    const empty = await runOnTerminal(['provision', ...target.flags(), ...target.vmFlags('empty-no-color')], { NO_COLOR: '' });
    expect(empty.stderr).toMatch(/\x1b\[3\dm/);
    const always = await runOnTerminal(['provision', ...target.flags(), ...target.vmFlags('always'), '--color', 'always'], { NO_COLOR: '1' });
    expect(always.stderr).toMatch(/\x1b\[32m✓/);
  });

  it('-q on a terminal draws nothing', async () => {
    const result = await runOnTerminal(['provision', ...target.flags(), ...target.vmFlags('tty-quiet'), '-q']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^\d+ tty-quiet 127\./);
  });
});

describe('the output flags are the same on every command that talks to a host', () => {
  const HOST_COMMANDS = [
    ['provision'], ['wait', 'r1'], ['logs', 'r1'], ['runs'], ['gc'], ['capacity'], ['doctor'], ['ssh', 'x'],
    ['vm', 'list'], ['vm', 'status', 'x'], ['vm', 'start', 'x'], ['vm', 'stop', 'x'], ['vm', 'shutdown', 'x'], ['vm', 'reboot', 'x'],
    ['vm', 'config', 'x'], ['vm', 'set', 'x'], ['vm', 'resize', 'x'], ['vm', 'delete', 'x'], ['vm', 'clone', 'x'],
  ];

  it.each(HOST_COMMANDS.map((command) => [command.join(' '), command] as const))('%s takes -q, -v and --log-format', async (_name, command) => {
    const help = await runCli([...command, '--help']);
    expect(help.stdout).toMatch(/^ {2}-q, --quiet {2,}/m);
    expect(help.stdout).toMatch(/^ {2}-v, --verbose {2,}.*\[count\]$/ms);
    expect(help.stdout).toMatch(/^ {6}--log-format {2,}/m);
  });

  it('linus mcp does not: its stdout is the protocol', async () => {
    const help = await runCli(['mcp', '--help']);
    expect(help.stdout).not.toContain('--quiet');
  });
});

describe('shell completion', () => {
  // `linus` on PATH, as the scripts call it.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-bin-'));
  fs.writeFileSync(path.join(bin, 'linus'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
  const PATH = `${bin}:${process.env.PATH}`;

  // Sources the bash script and asks its completion function for the candidates of a command line.
  function bashCandidates(words: string[]): { status: number | null; stdout: string; stderr: string } {
    const script = `source <(linus completion bash) && complete -p linus && COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}) && COMP_CWORD=${words.length - 1} && _linus_completions && printf '%s\\n' "\${COMPREPLY[@]}"`;
    const child = spawnSync('bash', ['-c', script], { env: { PATH, HOME: process.env.HOME, SHELL: '/bin/zsh' } });
    return { status: child.status, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
  }

  it('bash: the script loads, registers linus and completes its commands, subcommands, flags and choices', () => {
    const vm = bashCandidates(['linus', 'vm', '']);
    expect(vm.status, vm.stderr).toBe(0);
    const [registered, ...candidates] = vm.stdout.trimEnd().split('\n');
    expect(registered).toBe('complete -o bashdefault -o default -F _linus_completions linus');
    expect(candidates).toEqual(expect.arrayContaining(['list', 'status', 'start', 'delete', 'clone']));
    expect(bashCandidates(['linus', 'vm', 'li']).stdout.trimEnd().split('\n').slice(1)).toEqual(['list']);
    expect(bashCandidates(['linus', 'pro']).stdout.trimEnd().split('\n').slice(1)).toEqual(['provision']);
    expect(bashCandidates(['linus', 'provision', '--os', 'deb']).stdout.trimEnd().split('\n').slice(1)).toEqual(['debian-12', 'debian-13', 'debian']);
    expect(bashCandidates(['linus', 'vm', 'list', '--']).stdout.split('\n')).toEqual(expect.arrayContaining(['--quiet', '--verbose', '--output', '--host']));
  });

  it('zsh and fish: scripts that ask linus for the candidates in their own shape', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef linus\n/);
    expect(zsh.stdout).toContain('SHELL=zsh linus --get-yargs-completions "${(@)words[1,CURRENT]}"');
    expect(zsh.stdout).toContain('compdef _linus_completions linus');
    const fish = await runCli(['completion', 'fish']);
    expect(fish.stdout).toContain("complete -c linus -a '(__linus_completions)'");
    expect(fish.stdout).toContain('env SHELL=fish linus --get-yargs-completions $words "$current"');
    // What those calls answer: name and description, as each shell reads them.
    const ask = (shell: string) => spawnSync(process.execPath, [CLI, '--get-yargs-completions', 'linus', 'vm', ''], { env: { PATH, SHELL: shell } }).stdout.toString();
    expect(ask('fish')).toMatch(/^list\tEvery VM of the cluster/m);
    expect(ask('zsh')).toMatch(/^list:Every VM of the cluster/m);
  });

  it('an unknown shell is refused', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid values');
  });
});
