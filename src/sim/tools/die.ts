// How a Perl `die` leaves qm/pvesh: the message on stderr and an exit status (§0 of the reference).
export class PveDie extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

// A PVE::Exception with code 400 (`raise_param_exc` / `raise(..., code => 400)`): the usage line is
// attached by the command that caught it, as RESTHandler::cli_handler does.
export class ParamError extends Error {
  usage = '';

  constructor(
    readonly msg: string,
    readonly errors: Record<string, string> = {},
    // Getopt::Long's own warning (`Unknown option: foo`), printed before the exception.
    readonly preface = '',
  ) {
    super(msg);
  }

  // Exception.pm `stringify`: "<code> <msg>" (+ "\n" unless present), then one line per error.
  render(): string {
    let text = `400 ${this.msg}`;
    if (!text.endsWith('\n')) text += '\n';
    for (const key of Object.keys(this.errors).sort()) text += `${key}: ${this.errors[key]}\n`;
    return `${this.preface}${text}${this.usage}`;
  }
}

export function paramExc(errors: Record<string, string>): ParamError {
  return new ParamError('Parameter verification failed.', errors);
}

// Perl's `die "...\n"` adds no newline; a message without one gets it here.
export function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
