import type { Logger } from 'pino';
import { STEP_TEXT, type StepName } from '../../config/rules.js';
import type { ProgressEvent } from '../../jobs/run-job.js';
import { isProgressLog } from '../../protocol/records.js';
import type { TextOut } from '../io.js';

export interface RenderOptions {
  quiet: boolean;
  tty: boolean;
  logger?: Logger;
  write: (text: string) => void;
}

function describeEvent(event: ProgressEvent): string | undefined {
  switch (event.kind) {
    case 'step': {
      const [counter, name = ''] = event.step.split(':');
      return `[${counter}] ${STEP_TEXT[name as StepName] ?? name}`;
    }
    case 'log': {
      const text = event.line.startsWith('linus: ') ? event.line.slice(7) : event.line;
      return isProgressLog(text) ? text : undefined;
    }
    case 'vmId':
      return `VM ID ${event.vmId} claimed`;
    case 'upload':
      return `uploading the provisioner (${event.commands} command${event.commands === 1 ? '' : 's'})`;
    case 'reconnect':
      return `connection lost (${event.reason}); reconnecting in ${(event.delayMs / 1000).toFixed(1)} s to follow the job`;
    case 'retry':
      return `${event.code} is transient: retrying with a new run id in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt})`;
    case 'cancel':
      return 'cancelling: waiting for the host to roll back (Ctrl-C again to stop waiting)';
  }
}

// TTY: one live status line for steps, other lines above it. Not a TTY: plain lines.
// A logger (--log-format json|pretty) gets structured records instead.
export function progressRenderer(options: RenderOptions): (event: ProgressEvent, runId?: string) => void {
  let status = '';
  return (event, runId) => {
    if (options.quiet) return;
    const text = describeEvent(event);
    if (text === undefined) return;
    if (options.logger) {
      options.logger.info({ runId, event: event.kind, ...(event.kind === 'step' ? { step: event.step } : {}) }, text);
      return;
    }
    if (!options.tty) {
      options.write(`linus: ${text}\n`);
      return;
    }
    if (event.kind === 'step') {
      status = text;
      options.write(`\r\x1b[2K${status}`);
    } else {
      options.write(`\r\x1b[2K${text}\n${status}`);
    }
  };
}

// Without --json the warnings go to stderr; with it they are in the JSON object instead.
export function printWarnings(stderr: TextOut, warnings: readonly string[]): void {
  for (const warning of warnings) stderr.write(`linus: warning: ${warning}\n`);
}
