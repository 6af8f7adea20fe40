import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSshd } from '../../../src/sim/sshd.js';
import { generateEd25519 } from '../../../src/sim/ssh-endpoint.js';
import { describeWithSshd } from '../../helpers/require-sshd.js';
import { connectClient, execOnSimHost, execOverClient, sshdRunner, writeStandInHostShell, type SshRunner } from '../../helpers/ssh-runners.js';

it('names the package to install when sshd is missing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-nosshd-'));
  try {
    const host = writeStandInHostShell(dir);
    await expect(startSshd({ hostShell: host.hostShell(), home: host.paths.home, dir, binary: path.join(dir, 'no-sshd') })).rejects.toMatchObject({
      code: 'SANDBOX_FAILED',
      remediation: 'apt-get install openssh-server',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describeWithSshd('real OpenSSH sshd in front of the host shell', () => {
  let dir: string;
  let runner: SshRunner;

  const connect = (privateKey: string | Buffer): Promise<ssh2.Client> => connectClient(runner.endpoint, { privateKey });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-sshd-test-'));
    runner = await sshdRunner(writeStandInHostShell(dir));
  });

  afterAll(async () => {
    await runner?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs commands through ForceCommand with stdout, stderr and the exit code apart (real ssh client)', async () => {
    expect(await runner.exec('echo hi; echo err >&2; echo "$SIM_MARK"; exit 3')).toEqual({ stdout: 'hi\nhost-shell\n', stderr: 'err\n', code: 3 });
  });

  // bash sources ~/.bashrc for a command sshd runs (Debian builds it with SSH_SOURCE_BASHRC): that
  // must be the simulated root's, never the .bashrc of whoever runs the tests.
  it("the login shell sshd starts reads the simulated root's ~/.bashrc", async () => {
    const marker = path.join(dir, 'bashrc-read');
    fs.writeFileSync(path.join(dir, '.bashrc'), `echo "$HOME" >>${marker}\n`);
    try {
      expect((await runner.exec('true')).code).toBe(0);
      expect(fs.readFileSync(marker, 'utf8')).toBe(`${dir}\n`);
    } finally {
      fs.rmSync(path.join(dir, '.bashrc'));
    }
  });

  it('reports the host key fingerprint exactly as ssh-keygen -lf does', async () => {
    const hostKeyPub = path.join(path.dirname(runner.endpoint.identityFile), 'ssh_host_ed25519_key.pub');
    const { stdout } = await execa('ssh-keygen', ['-lf', hostKeyPub]);
    expect(stdout.split(' ')[1]).toBe(runner.endpoint.hostKeyFingerprint);
    expect(fs.readFileSync(runner.endpoint.knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${runner.endpoint.port} ${runner.endpoint.hostPublicKey}\n`);
  });

  it('accepts the generated key from the ssh2 client too', async () => {
    const client = await connect(fs.readFileSync(runner.endpoint.identityFile));
    try {
      expect(await execOverClient(client, 'echo "$SSH_ORIGINAL_COMMAND"')).toEqual({ stdout: 'echo "$SSH_ORIGINAL_COMMAND"\n', stderr: '', code: 0 });
    } finally {
      client.end();
    }
  });

  it('refuses a client key it does not know', async () => {
    await expect(connect(generateEd25519().private)).rejects.toMatchObject({ level: 'client-authentication' });
  });

  // OpenSSH's session_signal_req refuses signals to forced-command sessions, so cancellation by
  // channel signal is only testable against the embedded endpoint (a real PVE host has no ForceCommand).
  it('refuses channel signals to the forced command, as OpenSSH does', async () => {
    const client = await connect(fs.readFileSync(runner.endpoint.identityFile));
    try {
      const result = await new Promise<{ out: string; code: number | null }>((resolve, reject) => {
        client.exec("trap 'echo got-int; exit 7' INT; echo ready; sleep 1 & wait", (error, stream) => {
          if (error) return reject(error);
          let out = '';
          let code: number | null = null;
          stream.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            stream.signal('INT');
          });
          stream.on('exit', (exitCode: number | null) => (code = exitCode));
          stream.on('close', () => resolve({ out, code }));
        });
      });
      expect(result).toEqual({ out: 'ready\n', code: 0 });
    } finally {
      client.end();
    }
  });

  it('does not signal the command when the client disconnects; its output pipe just closes', async () => {
    const before = path.join(dir, 'before-write');
    const after = path.join(dir, 'after-write');
    const client = await connect(fs.readFileSync(runner.endpoint.identityFile));
    await new Promise<void>((resolve, reject) => {
      client.exec(`echo started; sleep 1; touch ${before}; echo late; touch ${after}`, (error, stream) => {
        if (error) return reject(error);
        stream.once('data', () => resolve());
      });
    });
    client.end();
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(before) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fs.existsSync(before)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fs.existsSync(after)).toBe(false);
  });

  it('sshdRunner reaches a simulated host\'s tools through ForceCommand', async () => {
    const { name, result } = await execOnSimHost(sshdRunner, { root: path.join(dir, 'sim-host'), settings: { version: '9.0' } }, 'pveversion; pvesh get /cluster/nextid');
    expect(name).toBe('sshd');
    expect(result).toEqual({
      stdout: 'pve-manager/9.0.10/deb1ca707ec72a89 (running kernel: 6.14.11-2-pve)\n100\n',
      stderr: '',
      code: 0,
    });
  });
});
