import type { Paint } from '../color.js';
import type { TextOut } from '../io.js';

export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 100;

// 4.2s under a minute, 2m05s above.
export function elapsedText(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

// On a terminal: one line per step, redrawn in place with a spinner and the step's elapsed time;
// when the next step starts the line stays, marked done. Other lines are written above it.
export class StatusLine {
  private current: { text: string; since: number } | undefined;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: TextOut,
    private readonly paint: Paint,
  ) {}

  step(text: string): void {
    this.settle(true);
    this.current = { text, since: Date.now() };
    this.frame = 0;
    // unref: a spinner never holds the process open; stop() ends it.
    this.timer ??= setInterval(() => {
      this.frame = (this.frame + 1) % SPINNER_FRAMES.length;
      this.draw();
    }, TICK_MS).unref();
    this.draw();
  }

  note(text: string): void {
    this.out.write(`\r\x1b[2K${text}\n`);
    this.draw();
  }

  // The end: the live step is marked done or failed and the spinner stops. Safe to call twice.
  stop(ok: boolean): void {
    this.settle(ok);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private settle(ok: boolean): void {
    if (!this.current) return;
    this.out.write(`\r\x1b[2K${this.line(ok ? this.paint('green', '✓') : this.paint('red', '✗'))}\n`);
    this.current = undefined;
  }

  private draw(): void {
    if (this.current) this.out.write(`\r\x1b[2K${this.line(this.paint('cyan', SPINNER_FRAMES[this.frame] as string))}`);
  }

  // Cut to the terminal's width: a wrapped line could not be redrawn in place.
  private line(mark: string): string {
    const { text, since } = this.current as { text: string; since: number };
    const elapsed = elapsedText(Date.now() - since);
    const room = (this.out.columns || 80) - elapsed.length - 5;
    const shown = text.length > room ? `${text.slice(0, Math.max(0, room - 1))}…` : text;
    return `${mark} ${shown}  ${this.paint('dim', elapsed)}`;
  }
}
