import { toLinusError } from '../protocol/errors.js';

// The one JSON object on stdout for a failure (a defect's stack still goes to stderr); returns
// the exit code.
export function writeJsonError(error: unknown): number {
  const linusError = toLinusError(error);
  process.stdout.write(`${JSON.stringify({ ok: false, error: linusError.toJSON() })}\n`);
  if (linusError.isDefect) process.stderr.write(`${(linusError.cause instanceof Error ? linusError.cause.stack : linusError.stack) ?? ''}\n`);
  return linusError.exitCode;
}

// With --json every failure, even one found before connecting, is the one JSON object on stdout;
// without it the error propagates to reportFatal (message and remediation on stderr).
export function withJsonErrors<A extends { json?: boolean | undefined }>(run: (argv: A) => Promise<void>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await run(argv);
    } catch (error) {
      if (!argv.json) throw error;
      process.exitCode = writeJsonError(error);
    }
  };
}
