import fs from 'node:fs';
import ssh2, { Client, type ConnectConfig } from 'ssh2';
import { LinusError } from '../protocol/errors.js';
import { checkHostKey, preferredHostKeyAlgorithms, type HostKeyPolicy } from './host-key.js';
import { fingerprint } from './known-hosts.js';

export interface SshTarget extends HostKeyPolicy {
  user: string;
  identityFile?: string;
  // Taken from the environment by the caller (LINUS_SSH_PASSWORD), never from a flag.
  password?: string;
  passphrase?: string;
  agentSocket?: string;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

export interface ExecOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  // Aborting sends INT to the remote command (OpenSSH delivers it to the process group).
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export type Exec = (command: string, options?: ExecOptions) => Promise<ExecResult>;

export interface Connection {
  exec: Exec;
  hostKeyFingerprint: string;
  closed: Promise<void>;
  close(): Promise<void>;
}

function connectionError(target: SshTarget, cause: unknown): LinusError {
  const error = cause as Error & { level?: string; code?: string };
  const where = `${target.user}@${target.host}:${target.port}`;
  if (error.level === 'client-authentication') {
    return new LinusError({ code: 'AUTH_FAILED', message: `authentication as ${where} failed (tried: ${authMethods(target).join(', ') || 'none'})`, cause });
  }
  return new LinusError({ code: 'CONNECTION_FAILED', message: `cannot reach ${where}: ${error.message}`, cause });
}

function authMethods(target: SshTarget): string[] {
  return [target.identityFile && 'publickey', target.agentSocket && 'agent', target.password !== undefined && 'password'].filter(
    (method): method is string => typeof method === 'string',
  );
}

// The identity file, checked before anything connects: ssh2 would throw a bare parse error from
// inside connect().
export function readIdentity(file: string, passphrase?: string): Buffer {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch (cause) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `cannot read the identity file ${file}: ${(cause as Error).message}`, remediation: 'Pass --identity with a readable private key file.', cause });
  }
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    if (/no passphrase given/.test(parsed.message)) {
      throw new LinusError({
        code: 'AUTH_FAILED',
        message: `the identity file ${file} is encrypted and no passphrase was given`,
        remediation: 'Load the key into your ssh-agent (ssh-add) and leave out --identity, or set LINUS_SSH_KEY_PASSPHRASE in the environment.',
      });
    }
    if (/bad passphrase/.test(parsed.message)) {
      throw new LinusError({ code: 'AUTH_FAILED', message: `LINUS_SSH_KEY_PASSPHRASE does not decrypt the identity file ${file}`, remediation: 'Set LINUS_SSH_KEY_PASSPHRASE to the key\'s passphrase, or use your ssh-agent.' });
    }
    throw new LinusError({ code: 'CONFIG_INVALID', message: `the identity file ${file} is not a private key linus can read (${parsed.message})`, remediation: 'Pass --identity with an OpenSSH or PEM private key file (ed25519, ecdsa or rsa).' });
  }
  const [first] = Array.isArray(parsed) ? parsed : [parsed];
  if (first !== undefined && !first.isPrivateKey()) {
    throw new LinusError({
      code: 'CONFIG_INVALID',
      message: `the identity file ${file} holds a public key`,
      remediation: `Pass the private half (${file.replace(/\.pub$/, '')}, without .pub); the public key goes to the host's authorized_keys and to --ssh-key.`,
    });
  }
  return key;
}

export async function connect(target: SshTarget): Promise<Connection> {
  const client = new Client();
  let hostKeyError: LinusError | undefined;
  let presented = '';
  const algorithms = preferredHostKeyAlgorithms(target);
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    readyTimeout: target.connectTimeoutMs ?? 15_000,
    keepaliveInterval: target.keepaliveIntervalMs ?? 10_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      presented = fingerprint(key);
      const decision = checkHostKey(target, key);
      hostKeyError = decision.error;
      return decision.accepted;
    },
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
    ...(target.identityFile ? { privateKey: readIdentity(target.identityFile, target.passphrase) } : {}),
    ...(target.passphrase !== undefined ? { passphrase: target.passphrase } : {}),
    ...(target.agentSocket ? { agent: target.agentSocket } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', (error) => reject(hostKeyError ?? connectionError(target, error)));
    client.connect(config);
  });
  let lost: LinusError | undefined;
  const closed = new Promise<void>((resolve) => {
    client.on('error', (error) => {
      lost = connectionError(target, error);
    });
    client.once('close', () => {
      lost ??= new LinusError({ code: 'CONNECTION_FAILED', message: `the connection to ${target.host}:${target.port} was closed` });
      resolve();
    });
  });

  const exec: Exec = (command, options = {}) =>
    new Promise<ExecResult>((resolve, reject) => {
      if (lost) return reject(lost);
      // ssh2 throws 'Not connected' when the socket went away before its close event arrived.
      const execOn = (callback: Parameters<Client['exec']>[1]) => {
        try {
          client.exec(command, callback);
        } catch (cause) {
          lost ??= new LinusError({ code: 'CONNECTION_FAILED', message: `the connection to ${target.host}:${target.port} was closed`, cause });
          reject(lost);
        }
      };
      execOn((error, channel) => {
        if (error) return reject(connectionError(target, error));
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        let signal: string | undefined;
        const abort = () => channel.signal('INT');
        options.signal?.addEventListener('abort', abort, { once: true });
        channel.on('data', (data: Buffer) => {
          const text = data.toString('utf8');
          stdout += text;
          options.onStdout?.(text);
        });
        channel.stderr.on('data', (data: Buffer) => {
          const text = data.toString('utf8');
          stderr += text;
          options.onStderr?.(text);
        });
        channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          if (exitSignal) signal = exitSignal;
        });
        channel.on('close', () => {
          options.signal?.removeEventListener('abort', abort);
          // No exit status means the connection went away under the command.
          if (code === null && signal === undefined) {
            return reject(lost ?? new LinusError({ code: 'CONNECTION_FAILED', message: `the connection dropped while running a command on ${target.host}` }));
          }
          resolve({ code, ...(signal ? { signal } : {}), stdout, stderr });
        });
      });
    });

  return {
    exec,
    hostKeyFingerprint: presented,
    closed,
    close: async () => {
      client.end();
      await closed;
    },
  };
}

// Opens a connection for fn and always closes it afterwards.
export async function withConnection<T>(target: SshTarget, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(target);
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}
