import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519, startSshEndpoint, type SshEndpoint } from '../../../src/sim/ssh-endpoint.js';
import { connectClient, embeddedRunner, execOnSimHost, execOverClient, sshArgs, writeStandInHostShell } from '../../helpers/ssh-runners.js';

let dir: string;
let endpoint: SshEndpoint;

const connect = (options: Partial<ssh2.ConnectConfig> = {}): Promise<ssh2.Client> => connectClient(endpoint, options);

async function withClient<T>(fn: (client: ssh2.Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await fn(client);
  } finally {
    client.end();
  }
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-endpoint-test-'));
  endpoint = await startSshEndpoint({ hostShell: writeStandInHostShell(dir).hostShell(), dir: path.join(dir, 'ssh') });
});

afterAll(async () => {
  await endpoint?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('embedded SSH endpoint', () => {
  it('writes an OpenSSH client key, its public half and a known_hosts line for the port', () => {
    expect(fs.statSync(endpoint.identityFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(endpoint.identityFile, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
    expect(fs.readFileSync(`${endpoint.identityFile}.pub`, 'utf8')).toMatch(/^ssh-ed25519 AAAA\S+ linus-sim-client\n$/);
    expect(fs.readFileSync(endpoint.knownHostsFile, 'utf8')).toBe(`[127.0.0.1]:${endpoint.port} ${endpoint.hostPublicKey}\n`);
    expect(endpoint).toMatchObject({ host: '127.0.0.1', user: 'root' });
  });

  it('reports the host key fingerprint exactly as ssh-keygen -lf does', async () => {
    const pub = path.join(dir, 'host.pub');
    fs.writeFileSync(pub, `${endpoint.hostPublicKey}\n`);
    const { stdout } = await execa('ssh-keygen', ['-lf', pub]);
    expect(stdout.split(' ')[1]).toBe(endpoint.hostKeyFingerprint);
    expect(endpoint.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('runs exec through the host shell with stdout, stderr and the exit code apart', async () => {
    const result = await withClient((client) => execOverClient(client, 'echo hi; echo err >&2; echo "$SIM_MARK"; exit 3'));
    expect(result).toEqual({ stdout: 'hi\nhost-shell\n', stderr: 'err\n', code: 3 });
  });

  it('gives the command the sshd session environment, not the server process environment', async () => {
    process.env.LINUS_LEAK_CHECK = 'leaked';
    try {
      const result = await withClient((client) => execOverClient(client, 'echo "${LINUS_LEAK_CHECK:-none} $USER $SSH_CONNECTION"'));
      expect(result.stdout).toMatch(new RegExp(`^none root 127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${endpoint.port}\\n$`));
    } finally {
      delete process.env.LINUS_LEAK_CHECK;
    }
  });

  it('ignores env requests, like sshd without AcceptEnv', async () => {
    const output = await withClient(
      (client) =>
        new Promise<string>((resolve, reject) => {
          client.exec('echo "${LC_LINUS:-unset}"', { env: { LC_LINUS: 'sent' } }, (error, stream) => {
            if (error) return reject(error);
            let out = '';
            stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
            stream.on('close', () => resolve(out));
            stream.end();
          });
        }),
    );
    expect(output).toBe('unset\n');
  });

  it('delivers channel signals to the command process group', async () => {
    const result = await withClient(
      (client) =>
        new Promise<{ out: string; code: number | null }>((resolve, reject) => {
          client.exec("trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 1; done", (error, stream) => {
            if (error) return reject(error);
            let out = '';
            let code: number | null = null;
            stream.on('data', (chunk: Buffer) => {
              out += chunk.toString();
              if (out === 'ready\n') stream.signal('INT');
            });
            stream.on('exit', (exitCode: number | null) => (code = exitCode));
            stream.on('close', () => resolve({ out, code }));
          });
        }),
    );
    expect(result).toEqual({ out: 'ready\ngot-int\n', code: 7 });
  });

  it('reports a command killed by a signal with exit-signal', async () => {
    const signal = await withClient(
      (client) =>
        new Promise<string>((resolve, reject) => {
          client.exec('echo ready; exec sleep 30', (error, stream) => {
            if (error) return reject(error);
            let killed = '';
            stream.on('data', () => stream.signal('KILL'));
            stream.on('exit', (_code: number | null, name?: string) => (killed = name ?? ''));
            stream.on('close', () => resolve(killed));
          });
        }),
    );
    expect(signal).toBe('SIGKILL');
  });

  it('does not signal the command when the client disconnects; its output pipe just closes', async () => {
    const before = path.join(dir, 'before-write');
    const after = path.join(dir, 'after-write');
    const client = await connect();
    await new Promise<void>((resolve, reject) => {
      client.exec(`echo started; sleep 1; touch ${before}; echo late; touch ${after}`, (error, stream) => {
        if (error) return reject(error);
        stream.once('data', () => resolve());
      });
    });
    client.end();
    // Like sshd without a pty: no SIGHUP, so the command runs on, and dies of SIGPIPE when it
    // next writes to the closed pipe.
    await waitFor(() => fs.existsSync(before));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fs.existsSync(after)).toBe(false);
  });

  it('refuses a client key it does not know', async () => {
    const stranger = generateEd25519();
    await expect(connect({ privateKey: stranger.private })).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('refuses password authentication', async () => {
    await expect(connect({ privateKey: undefined, password: 'root' })).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('works with the real OpenSSH client and StrictHostKeyChecking=yes', async () => {
    const result = await execa('ssh', [...sshArgs(endpoint), 'echo out; echo err >&2; exit 5'], { reject: false, stdin: 'ignore' });
    expect({ stdout: result.stdout, stderr: result.stderr, code: result.exitCode }).toEqual({ stdout: 'out', stderr: 'err', code: 5 });
  });

  it('makes the real OpenSSH client refuse a different host key', async () => {
    const other = generateEd25519().public.split(' ').slice(0, 2).join(' ');
    const knownHosts = path.join(dir, 'wrong_known_hosts');
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${endpoint.port} ${other}\n`);
    const args = sshArgs({ ...endpoint, knownHostsFile: knownHosts });
    const result = await execa('ssh', [...args, 'true'], { reject: false, stdin: 'ignore' });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('listens on the port it is given', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const fixed = await startSshEndpoint({ hostShell: writeStandInHostShell(dir).hostShell(), dir: path.join(dir, 'fixed'), port });
    try {
      expect(fixed.port).toBe(port);
      const result = await execa('ssh', [...sshArgs(fixed), 'echo fixed'], { reject: false, stdin: 'ignore' });
      expect(result.stdout).toBe('fixed');
    } finally {
      await fixed.close();
    }
  });

  it('close() ends connections and stops commands still running, like a host shutdown', async () => {
    const own = await startSshEndpoint({ hostShell: writeStandInHostShell(dir).hostShell(), dir: path.join(dir, 'shutdown') });
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve()).once('error', reject);
        client.connect({ host: own.host, port: own.port, username: 'root', privateKey: fs.readFileSync(own.identityFile) });
      });
      const pid = await new Promise<number>((resolve, reject) => {
        client.exec('echo $$; exec sleep 30', (error, stream) => (error ? reject(error) : stream.once('data', (chunk: Buffer) => resolve(Number(chunk.toString())))));
      });
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      await own.close();
      await closed;
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    } finally {
      client.end();
      await own.close();
    }
  });

  it('serves sftp through the host shell', async () => {
    const names = await withClient(
      (client) =>
        new Promise<string[]>((resolve, reject) => {
          client.sftp((error, sftp) => {
            if (error) return reject(error);
            sftp.readdir('.', (readError, list) => (readError ? reject(readError) : resolve(list.map((entry) => entry.filename))));
          });
        }),
    );
    expect(names).toContain('host-shell');
  });

  it('embeddedRunner reaches a simulated host\'s tools with a verified host key', async () => {
    const { name, result } = await execOnSimHost(embeddedRunner, { root: path.join(dir, 'sim-host') }, 'pveversion; pvesh get /cluster/nextid');
    expect(name).toBe('embedded');
    expect(result).toEqual({
      stdout: 'pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)\n100\n',
      stderr: '',
      code: 0,
    });
  });
});
