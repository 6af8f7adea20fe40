import { ERROR_CODES, type ErrorCode } from './codes.js';

export interface LinusErrorOptions {
  code: ErrorCode;
  message: string;
  remediation?: string;
  exitCode?: number;
  cause?: unknown;
}

// The one error class: fields tell failures apart (execa's model), not subclasses.
export class LinusError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly remediation: string;
  readonly transient: boolean;

  constructor(options: LinusErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LinusError';
    const entry = ERROR_CODES[options.code];
    this.code = options.code;
    this.exitCode = options.exitCode ?? entry.exitCode;
    this.remediation = options.remediation ?? entry.remediation;
    this.transient = entry.transient;
  }

  get isDefect(): boolean {
    return this.code === 'INTERNAL';
  }

  toJSON(): { code: ErrorCode; exitCode: number; message: string; remediation: string } {
    return { code: this.code, exitCode: this.exitCode, message: this.message, remediation: this.remediation };
  }
}

export function toLinusError(error: unknown): LinusError {
  if (error instanceof LinusError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LinusError({ code: 'INTERNAL', message, cause: error });
}

// How an operator error reads on the terminal: the message, its code, and the remediation below.
export function errorText(error: { message: string; code: string; remediation: string }): string {
  return `${error.message} [${error.code}]\n  ${error.remediation}\n`;
}

// Operator errors print a message and remediation; defects print a stack. Returns the exit code.
export function reportFatal(error: unknown, write: (text: string) => void): number {
  const linusError = toLinusError(error);
  if (linusError.isDefect) {
    const stack = linusError.cause instanceof Error ? linusError.cause.stack : linusError.stack;
    write(`linus: internal error: ${linusError.message}\n${stack ?? ''}\n${linusError.remediation}\n`);
  } else {
    write(`linus: ${errorText(linusError)}`);
  }
  return linusError.exitCode;
}
