import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSandboxDir, sandboxDown, sandboxInfoSchema, sandboxSshCommand, withSandbox } from '../../../src/sim/sandbox.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';

// The built CLI, as a user runs it: `npm test` builds first.
const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli', 'main.js');
const dirs: string[] = [];
// `sandbox up` writes a profile to the user config: each test gets its own, never the real one.
let configHome = '';

function newDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sandbox-test-')), 'sandbox');
  dirs.push(dir);
  return dir;
}

function linus(args: string[]) {
  const env = { ...process.env };
  delete env.LINUS_SANDBOX_DIR;
  env.XDG_CONFIG_HOME = configHome;
  return execa(process.execPath, [cli, ...args], { reject: false, env, stdin: 'ignore', stripFinalNewline: false });
}

// Runs a printed shell line exactly as a user would paste it.
function shell(line: string) {
  return execa('bash', ['-c', line], { reject: false, stdin: 'ignore', stripFinalNewline: false });
}

function sectionLine(text: string, heading: string): string {
  const lines = text.split('\n');
  const line = lines[lines.indexOf(heading) + 1];
  if (line === undefined || !lines.includes(heading)) throw new Error(`no "${heading}" section in:\n${text}`);
  return line.trim();
}

// Every process whose command line or environment names dir: daemon, sshd, guests, commands.
function processesUsing(dir: string): string[] {
  return fs.readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return false;
    try {
      return ['cmdline', 'environ'].some((file) => fs.readFileSync(`/proc/${entry}/${file}`, 'utf8').includes(dir));
    } catch {
      return false;
    }
  });
}

async function expectNoProcessesUsing(dir: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (processesUsing(dir).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(processesUsing(dir)).toEqual([]);
}

function readInfo(dir: string) {
  return sandboxInfoSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'sandbox.json'), 'utf8')));
}

beforeAll(() => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build' first`);
});

beforeEach(() => {
  configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sandbox-config-'));
});

afterEach(async () => {
  fs.rmSync(configHome, { recursive: true, force: true });
  for (const dir of dirs.splice(0)) {
    await sandboxDown(dir).catch(() => undefined);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

describe('linus sandbox', () => {
  it('up prints the flags, the environment and a plain ssh line that reaches the simulated host', async () => {
    const dir = newDir();
    const up = await linus(['sandbox', 'up', '--dir', dir]);
    expect(up.stderr).toBe('');
    expect(up.exitCode).toBe(0);
    const info = readInfo(dir);
    expect(info).toMatchObject({ transport: 'embedded', host: '127.0.0.1', user: 'root', node: 'pve', storage: 'local-lvm', bridge: 'vmbr0', remoteDir: path.join(dir, 'host', 'var', 'lib', 'linus') });
    expect(up.stdout.split('\n')[0]).toBe(`Started a linus sandbox in ${dir}.`);
    expect(sectionLine(up.stdout, 'Flags for linus:')).toBe(
      `--host 127.0.0.1 --port ${info.port} --user root --identity ${info.identityFile} --known-hosts ${info.knownHostsFile} --node pve --storage local-lvm --bridge vmbr0 --remote-dir ${info.remoteDir} --image-url ${info.imageUrl} --image-sha256 ${info.imageSha256}`,
    );
    expect(up.stdout).toContain(`\n  export LINUS_HOST=127.0.0.1\n  export LINUS_PORT=${info.port}\n  export LINUS_USER=root\n`);
    expect(up.stdout).toContain(`\n  export LINUS_IMAGE_SHA256=${info.imageSha256}\n`);
    const sshLine = sectionLine(up.stdout, 'Try it with plain ssh:');
    expect(sshLine).toBe(`ssh -p ${info.port} -i ${info.identityFile} -o UserKnownHostsFile=${info.knownHostsFile} -o IdentitiesOnly=yes root@127.0.0.1 qm list`);

    // A fresh host has no VMs: `qm list` prints nothing at all, not even the header.
    expect(await shell(sshLine)).toMatchObject({ stdout: '', exitCode: 0 });
    const base = sshLine.replace(/ qm list$/, '');
    expect(await shell(`${base} pvesh get /cluster/nextid`)).toMatchObject({ stdout: '100\n', exitCode: 0 });
    expect(await shell(`${base} pveversion`)).toMatchObject({ stdout: 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)\n', exitCode: 0 });
    const download = await shell(`curl -fsS ${info.imageUrl} | sha256sum`);
    expect(download.stdout).toBe(`${info.imageSha256}  -\n`);

    const again = await linus(['sandbox', 'up', '--dir', dir]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(`A linus sandbox is already up in ${dir}.`);
    expect(sectionLine(again.stdout, 'Try it with plain ssh:')).toBe(sshLine);

    const status = await linus(['sandbox', 'status', '--dir', dir, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'up', dir, port: info.port, pid: info.pid, sshCommand: sshLine });

    // A running guest must stop with the sandbox too.
    expect((await shell(`${base} 'qm create 100 --name t1 --memory 512 --net0 virtio,bridge=vmbr0 --agent 1 && qm start 100'`)).exitCode).toBe(0);
    expect(processesUsing(dir).length).toBeGreaterThan(1);
    const down = await linus(['sandbox', 'down', '--dir', dir]);
    const configFile = path.join(configHome, 'linus', 'config.yaml');
    expect(down.stdout).toBe(`Stopped the linus sandbox in ${dir} and removed the directory. The 'sandbox' profile in ${configFile} stays; it points at nothing until the next 'linus sandbox up'.\n`);
    expect(down.exitCode).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    await expectNoProcessesUsing(dir);
    expect((await linus(['sandbox', 'status', '--dir', dir])).stdout).toBe(`No linus sandbox in ${dir} (down). Start one: linus sandbox up\n`);
  });

  it('starts one daemon when two `up`s race for the same directory', async () => {
    const dir = newDir();
    const [first, second] = await Promise.all([linus(['sandbox', 'up', '--dir', dir, '--json']), linus(['sandbox', 'up', '--dir', dir, '--json'])]);
    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    const outputs = [first, second].map((result) => JSON.parse(result.stdout) as { pid: number; port: number; alreadyUp: boolean });
    expect(outputs.map((output) => output.alreadyUp).sort()).toEqual([false, true]);
    expect(outputs[0]?.pid).toBe(outputs[1]?.pid);
    expect(outputs[0]?.port).toBe(outputs[1]?.port);
    const daemons = processesUsing(dir).filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sandbox-daemon'));
    expect(daemons).toEqual([String(outputs[0]?.pid)]);
  });

  it('reports a dead daemon as stale, refuses to start over it, and down cleans it up', async () => {
    const dir = newDir();
    expect((await linus(['sandbox', 'up', '--dir', dir, '--existing-vms', '1'])).exitCode).toBe(0);
    const { pid } = readInfo(dir);
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const status = await linus(['sandbox', 'status', '--dir', dir, '--json']);
    expect(JSON.parse(status.stdout)).toEqual({ state: 'stale', dir, pid });
    const up = await linus(['sandbox', 'up', '--dir', dir]);
    expect(up.exitCode).toBe(26);
    expect(up.stderr).toContain(`linus: the sandbox in ${dir} is stale: its daemon (pid ${pid}) is not running [SANDBOX_FAILED]`);
    const down = await linus(['sandbox', 'down', '--dir', dir]);
    expect(down.stdout).toContain('was stale');
    expect(fs.existsSync(dir)).toBe(false);
    await expectNoProcessesUsing(dir);
  });

  it('answers down and status for a directory without a sandbox, and never removes a foreign one', async () => {
    const dir = newDir();
    expect((await linus(['sandbox', 'down', '--dir', dir])).stdout).toBe(`No linus sandbox in ${dir}; nothing to do.\n`);
    expect(JSON.parse((await linus(['sandbox', 'status', '--dir', dir, '--json'])).stdout)).toEqual({ state: 'down', dir });
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'precious'), 'keep me');
    const down = await linus(['sandbox', 'down', '--dir', dir]);
    expect(down.exitCode).toBe(26);
    expect(down.stderr).toContain('is not a linus sandbox directory');
    const up = await linus(['sandbox', 'up', '--dir', dir]);
    expect(up.exitCode).toBe(26);
    expect(fs.readFileSync(path.join(dir, 'precious'), 'utf8')).toBe('keep me');
  });

  it('rejects unknown actions and options', async () => {
    const result = await linus(['sandbox', 'up', '--dir', newDir(), '--nope']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Unknown argument: nope/);
    expect((await linus(['sandbox', 'sideways'])).exitCode).not.toBe(0);
  });

  it('withSandbox runs everything in-process and tears it down afterwards', async () => {
    let seen: { dir: string; port: number; imagePort: number } | undefined;
    const version = await withSandbox(async (sandbox) => {
      seen = { dir: path.dirname(sandbox.identityFile), port: sandbox.port, imagePort: Number(new URL(sandbox.imageUrl).port) };
      expect(sandbox.pid).toBe(process.pid);
      expect(sandbox.simHost.node).toBe('pve');
      const result = await shell(sandboxSshCommand(sandbox, 'pveversion'));
      return result.stdout;
    }, { version: '8.2' });
    expect(version).toBe('pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-4-pve)\n');
    if (seen === undefined) throw new Error('fn did not run');
    expect(fs.existsSync(seen.dir)).toBe(false);
    for (const port of [seen.port, seen.imagePort]) {
      await expect(
        new Promise((resolve, reject) => net.connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });

  it('defaults to $LINUS_SANDBOX_DIR, then the XDG state directory', () => {
    expect(defaultSandboxDir({ LINUS_SANDBOX_DIR: '/srv/sb' })).toBe('/srv/sb');
    expect(defaultSandboxDir({ XDG_STATE_HOME: '/state' })).toBe('/state/linus/sandbox');
    expect(defaultSandboxDir({})).toBe(path.join(os.homedir(), '.local', 'state', 'linus', 'sandbox'));
  });
});

describeWithSshd('linus sandbox up --sshd', () => {
  it('serves the same host through a real OpenSSH sshd', async () => {
    const dir = newDir();
    const up = await linus(['sandbox', 'up', '--dir', dir, '--sshd', '--existing-vms', '2', '--json']);
    expect(up.exitCode).toBe(0);
    const printed = JSON.parse(up.stdout) as { transport: string; sshCommand: string; alreadyUp: boolean };
    expect(printed).toMatchObject({ state: 'up', transport: 'sshd', alreadyUp: false });
    expect(await shell(printed.sshCommand)).toMatchObject({
      stdout:
        '      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n' +
        '       100 existing-100         stopped    2048               1.00 0         \n' +
        '       101 existing-101         stopped    2048               1.00 0         \n',
      exitCode: 0,
    });
    expect(await shell(printed.sshCommand.replace(/ qm list$/, ' pvesh get /cluster/nextid'))).toMatchObject({ stdout: '102\n', exitCode: 0 });
    expect((await linus(['sandbox', 'down', '--dir', dir])).exitCode).toBe(0);
    await expectNoProcessesUsing(dir);
  });
});
