// Everything a CLI run reads from or writes to its process, so that main() can run in-process
// (tests) as well as in the `linus` program.

import type { ColorMode } from './color.js';

export interface TextOut {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: TextOut;
  stderr: TextOut;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  // Subscribes to Ctrl-C (SIGINT); returns the unsubscribe. Without a subscriber Ctrl-C ends the run.
  onInterrupt(handler: () => void): () => void;
  // Leaves the run at once with this exit code (a second Ctrl-C: stop waiting for a rollback).
  exit(code: number): void;
}

// One run of the CLI: its io, the exit code its command sets, and its --color.
export interface CliContext {
  io: CliIo;
  exitCode: number;
  color?: ColorMode;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => void process.off('SIGINT', handler);
    },
    exit: (code) => process.exit(code),
  };
}
