import { toLinusError } from '../protocol/errors.js';

// With --json every failure, even one found before connecting, is the one JSON object on stdout;
// without it the error propagates to reportFatal (message and remediation on stderr).
export function withJsonErrors<A extends { json?: boolean | undefined }>(run: (argv: A) => Promise<void>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await run(argv);
    } catch (error) {
      if (!argv.json) throw error;
      const linusError = toLinusError(error);
      process.stdout.write(`${JSON.stringify({ ok: false, error: linusError.toJSON() })}\n`);
      if (linusError.isDefect) process.stderr.write(`${(linusError.cause instanceof Error ? linusError.cause.stack : linusError.stack) ?? ''}\n`);
      process.exitCode = linusError.exitCode;
    }
  };
}
