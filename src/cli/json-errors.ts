import { toLinusError } from '../protocol/errors.js';
import type { CliContext, TextOut } from './io.js';

// The one JSON object on stdout for a failure (a defect's stack still goes to stderr); returns
// the exit code.
export function writeJsonError(out: { stdout: TextOut; stderr: TextOut }, error: unknown): number {
  const linusError = toLinusError(error);
  out.stdout.write(`${JSON.stringify({ ok: false, error: linusError.toJSON() })}\n`);
  if (linusError.isDefect) out.stderr.write(`${(linusError.cause instanceof Error ? linusError.cause.stack : linusError.stack) ?? ''}\n`);
  return linusError.exitCode;
}

// With --json every failure, even one found before connecting, is the one JSON object on stdout;
// without it the error propagates to reportFatal (message and remediation on stderr).
export function withJsonErrors<A extends { json?: boolean | undefined }>(cli: CliContext, run: (argv: A) => Promise<void> | void): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await run(argv);
    } catch (error) {
      if (!argv.json) throw error;
      cli.exitCode = writeJsonError(cli.io, error);
    }
  };
}
