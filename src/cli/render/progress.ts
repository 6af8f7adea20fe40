import type { Logger } from 'pino';
import { STEP_TEXT, type StepName } from '../../config/rules.js';
import type { HostEvent } from '../../host/run.js';
import type { ProgressEvent } from '../../jobs/run-job.js';
import { isProgressLog } from '../../protocol/records.js';
import { colorEnabled, painter, type Paint } from '../color.js';
import type { CliContext, TextOut } from '../io.js';
import { createLogger, type LogFormat } from '../logger.js';
import type { LevelFlags } from '../target-options.js';
import { StatusLine } from './status-line.js';

// -1: -q (nothing but the result); 0: the default (steps and what the driver itself says);
// 1: -v (the Proxmox calls and every host log line); 2: -vv (everything the host sends).
export type Level = -1 | 0 | 1 | 2;

export function levelOf(flags: LevelFlags): Level {
  if (flags.quiet) return -1;
  return Math.min(2, flags.verbose ?? 0) as Level;
}

// From which level a line from the host is shown. Its rollback and the job's start (its run id,
// to pick it up from elsewhere) are part of the default; protocol records and the host's echo of
// the error and warnings (the driver prints those once, from the records) only of -vv.
export function hostLineLevel(line: string): Level {
  if (line.startsWith('LINUS_')) return 2;
  const text = line.replace(/^linus: /, '');
  if (!isProgressLog(text)) return 2;
  if (/^rollback: |^job \S+ (was already )?started$/.test(text)) return 0;
  return 1;
}

type Shown = { level: Level; text: string; step?: boolean };

function describeEvent(event: ProgressEvent): Shown {
  switch (event.kind) {
    case 'step': {
      const [counter, name = ''] = event.step.split(':');
      return { level: 0, text: `[${counter}] ${STEP_TEXT[name as StepName] ?? name}`, step: true };
    }
    case 'log':
      return { level: hostLineLevel(event.line), text: event.line.replace(/^linus: /, '') };
    case 'record':
      return { level: 2, text: event.line };
    case 'notice':
      return { level: 0, text: event.text };
    case 'vmId':
      return { level: 0, text: `VM ID ${event.vmId} claimed` };
    case 'upload':
      return { level: 0, text: `uploading the provisioner (${event.commands} command${event.commands === 1 ? '' : 's'})` };
    case 'reconnect':
      return { level: 0, text: `connection lost (${event.reason}); reconnecting in ${(event.delayMs / 1000).toFixed(1)} s to follow the job` };
    case 'retry':
      return { level: 0, text: `${event.code} is transient: retrying with a new run id in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt})` };
    case 'cancel':
      return { level: 0, text: 'cancelling: waiting for the host to roll back (Ctrl-C again to stop waiting)' };
  }
}

export interface RenderOptions {
  level: Level;
  // Where the progress goes (stderr).
  out: TextOut;
  // Draw the live step lines (a terminal, one VM); else one plain line per event.
  tty: boolean;
  paint?: Paint;
  // --log-format json|pretty: structured records instead of lines.
  logger?: Logger | undefined;
  // Several VMs at once: each plain line names its VM.
  prefix?: string;
}

export interface Progress {
  event(event: ProgressEvent, runId?: string): void;
  // Ends the live line (marked done or failed) and its spinner; safe to call twice.
  stop(ok: boolean): void;
}

// A run's progress on stderr at its level. Not a terminal: plain `linus: ` lines, stable for
// scripts and tests.
export function progressRenderer(options: RenderOptions): Progress {
  const paint = options.paint ?? painter(false);
  const status = options.tty && !options.logger ? new StatusLine(options.out, paint) : undefined;
  const prefix = options.prefix ?? '';
  return {
    event: (event, runId) => {
      const shown = describeEvent(event);
      if (shown.level > options.level) return;
      if (options.logger) {
        options.logger.info({ runId, event: event.kind, ...(event.kind === 'step' ? { step: event.step } : {}) }, shown.text);
      } else if (!status) {
        options.out.write(`linus: ${prefix}${shown.text}\n`);
      } else if (shown.step) {
        status.step(shown.text);
      } else {
        status.note(shown.level > 0 ? paint('dim', shown.text) : shown.text);
      }
    },
    stop: (ok) => status?.stop(ok),
  };
}

// The level, colour and log format a command's flags ask for, and the renderer they make.
export async function progressFor(cli: CliContext, flags: LevelFlags, options: { tty?: boolean; bindings?: Record<string, unknown>; prefix?: string } = {}): Promise<Progress> {
  const out = cli.io.stderr;
  const color = colorEnabled(out, cli.io.env, cli.color);
  const logger = await createLogger((flags.logFormat ?? 'plain') as LogFormat, options.bindings ?? {}, out, color);
  return progressRenderer({
    level: levelOf(flags),
    out,
    tty: Boolean(options.tty ?? true) && Boolean(out.isTTY),
    paint: painter(color),
    logger,
    ...(options.prefix ? { prefix: options.prefix } : {}),
  });
}

// An operation's host lines (vm, capacity, doctor, gc, runs), at the same levels. It has no steps,
// and its upload (of a provisioner not yet cached) is not news: only the lines are shown.
export async function hostLinesFor(cli: CliContext, flags: LevelFlags): Promise<(event: HostEvent) => void> {
  const progress = await progressFor(cli, flags, { tty: false });
  return (event) => {
    if (event.kind === 'log' || event.kind === 'record') progress.event(event);
  };
}

// Without --json the warnings go to stderr; with it they are in the JSON object instead.
export function printWarnings(cli: CliContext, warnings: readonly string[]): void {
  const paint = painter(colorEnabled(cli.io.stderr, cli.io.env, cli.color));
  for (const warning of warnings) cli.io.stderr.write(`linus: ${paint('yellow', 'warning:')} ${warning}\n`);
}
