import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { TextOut } from './io.js';

export type LogFormat = 'json' | 'pretty' | 'plain';

// Secrets never reach a log record, whatever a caller passes in.
const REDACT = ['password', 'vm.password', 'passphrase', 'privateKey', 'sshKeyB64', '*.password'];

// Records go to the run's stderr: the process' own through fd 2, written synchronously (so they
// survive an exit), any other (an in-process run) through a stream.
export async function createLogger(format: LogFormat, bindings: Record<string, unknown>, stderr: TextOut, color = false): Promise<Logger | undefined> {
  if (format === 'plain') return undefined;
  const options = { base: bindings, redact: { paths: REDACT, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime };
  const ownFd = stderr === process.stderr;
  const stream = () => new Writable({ write: (chunk: Buffer, _encoding, done) => (stderr.write(chunk.toString()), done()) });
  if (format === 'json') return pino(options, ownFd ? pino.destination({ dest: 2, sync: true }) : stream());
  const { default: pretty } = await import('pino-pretty');
  return pino(options, pretty({ destination: ownFd ? 2 : stream(), sync: true, colorize: color }));
}
