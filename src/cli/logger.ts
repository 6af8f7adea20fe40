import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty' | 'plain';

// Secrets never reach a log record, whatever a caller passes in.
const REDACT = ['password', 'vm.password', 'passphrase', 'privateKey', 'sshKeyB64', '*.password'];

export async function createLogger(format: LogFormat, bindings: Record<string, unknown>): Promise<Logger | undefined> {
  if (format === 'plain') return undefined;
  const options = { base: bindings, redact: { paths: REDACT, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'json') return pino(options, pino.destination({ dest: 2, sync: true }));
  const { default: pretty } = await import('pino-pretty');
  return pino(options, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY }));
}
