import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProgressEvent } from '../../../../src/jobs/run-job.js';
import { painter } from '../../../../src/cli/color.js';
import { hostLineLevel, progressRenderer, type Level } from '../../../../src/cli/render/progress.js';
import { elapsedText, SPINNER_FRAMES } from '../../../../src/cli/render/status-line.js';
import { CLI } from '../../../helpers/driver.js';

// What a renderer writes for the events, piped (plain lines).
function plain(level: Level, events: ProgressEvent[]): string {
  let text = '';
  const progress = progressRenderer({ level, tty: false, out: { write: (chunk) => void (text += chunk) } });
  for (const event of events) progress.event(event);
  return text;
}

const HOST_LINES: ProgressEvent[] = [
  { kind: 'log', line: 'linus: job r1-00000000 started' },
  { kind: 'record', line: 'LINUS_STEP:1/9:validate' },
  { kind: 'step', step: '1/9:validate' },
  { kind: 'log', line: 'linus: call: qm start 100' },
  { kind: 'log', line: "linus: warning: VM 'web01' on node pve: the memory of node 'pve' will be 81.3 % used (over 80 %)" },
  { kind: 'record', line: "LINUS_WARNING:VM 'web01' on node pve: the memory of node 'pve' will be 81.3 % used (over 80 %)" },
  { kind: 'log', line: 'linus: error [START_FAILED]: qm start 100 failed' },
  { kind: 'log', line: 'linus: rollback: VM 100 and its volumes removed' },
  { kind: 'notice', text: 'removed VM 100 that run r1-00000000 left behind' },
];

describe('progress levels (piped: plain lines)', () => {
  it('by default: one line per step, the run id, the rollback and what the driver says; no Proxmox call', () => {
    expect(plain(0, HOST_LINES)).toBe(
      ['linus: job r1-00000000 started', 'linus: [1/9] checking the host', 'linus: rollback: VM 100 and its volumes removed', 'linus: removed VM 100 that run r1-00000000 left behind', ''].join('\n'),
    );
  });

  it("-v: the host's log once, with the Proxmox calls; not the protocol lines, nor its echo of the error and warnings the result repeats", () => {
    expect(plain(1, HOST_LINES)).toBe(
      [
        'linus: job r1-00000000 started',
        'linus: [1/9] checking the host',
        'linus: call: qm start 100',
        'linus: rollback: VM 100 and its volumes removed',
        'linus: removed VM 100 that run r1-00000000 left behind',
        '',
      ].join('\n'),
    );
  });

  it('-vv: everything the host sent, in its order', () => {
    const lines = plain(2, HOST_LINES).split('\n');
    expect(lines).toContain('linus: LINUS_STEP:1/9:validate');
    expect(lines).toContain('linus: error [START_FAILED]: qm start 100 failed');
    expect(lines).toContain("linus: LINUS_WARNING:VM 'web01' on node pve: the memory of node 'pve' will be 81.3 % used (over 80 %)");
    expect(lines).toHaveLength(HOST_LINES.length + 1);
  });

  it('-q: nothing at all', () => {
    expect(plain(-1, HOST_LINES)).toBe('');
  });

  it.each([
    ['LINUS_RESULT:SUCCESS', 2],
    ['linus: call: qm create 100 --name web01', 1],
    ['linus: qm:   Logical volume "vm-100-disk-0" created.', 1],
    ['linus: job r1-00000000 was already started', 0],
    ['linus: rollback: checking VM 100', 0],
    ['linus: warning: the memory', 2],
  ] as Array<[string, Level]>)('%s is shown from level %i', (line, level) => {
    expect(hostLineLevel(line)).toBe(level);
  });
});

describe('progress on a terminal', () => {
  afterEach(() => void vi.useRealTimers());

  // A fake terminal: what a renderer drew, and how many timers it left behind.
  function terminal(color: boolean) {
    let text = '';
    const out = { isTTY: true, columns: 60, write: (chunk: string) => void (text += chunk) };
    const progress = progressRenderer({ level: 0, tty: true, out, paint: painter(color) });
    return { progress, text: () => text };
  }

  it('draws one line per step in place, with a spinner and the elapsed time, and marks it done when the next starts', () => {
    vi.useFakeTimers();
    const { progress, text } = terminal(false);
    progress.event({ kind: 'step', step: '1/9:validate' });
    expect(text()).toBe(`\r\x1b[2K${SPINNER_FRAMES[0]} [1/9] checking the host  0.0s`);
    vi.advanceTimersByTime(250);
    // Redrawn in place every 100 ms: the next frames, the time going on.
    expect(text()).toContain(`\r\x1b[2K${SPINNER_FRAMES[1]} [1/9] checking the host  0.1s`);
    expect(text()).toContain(`\r\x1b[2K${SPINNER_FRAMES[2]} [1/9] checking the host  0.2s`);
    expect(text()).not.toContain('\n');
    vi.advanceTimersByTime(950);
    progress.event({ kind: 'log', line: 'linus: job r1-00000000 started' });
    // A line between steps goes above the live line, which is drawn again below it.
    expect(text()).toMatch(/\r\x1b\[2Kjob r1-00000000 started\n\r\x1b\[2K. \[1\/9\] checking the host {2}1\.2s$/);
    progress.event({ kind: 'step', step: '2/9:image' });
    expect(text()).toContain('\r\x1b[2K✓ [1/9] checking the host  1.2s\n');
    vi.advanceTimersByTime(61_000);
    progress.stop(false);
    expect(text()).toMatch(/\r\x1b\[2K✗ \[2\/9\] fetching and verifying the image {2}1m01s\n$/);
    // Stopped: the spinner draws no more.
    const drawn = text();
    vi.advanceTimersByTime(1000);
    expect(text()).toBe(drawn);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps its timer from holding the process open', () => {
    // A process whose live line is never stopped still ends on its own (the built renderer).
    const script = `import { progressRenderer } from ${JSON.stringify(pathToFileURL(path.join(path.dirname(CLI), 'render/progress.js')).href)};
      progressRenderer({ level: 0, tty: true, out: { isTTY: true, columns: 80, write: () => undefined } }).event({ kind: 'step', step: '1/9:validate' });`;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
    expect(child.error).toBeUndefined();
    expect(child.status, child.stderr.toString()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('cuts a step line to the terminal width, so that it can be redrawn in place', () => {
    vi.useFakeTimers();
    const { progress, text } = terminal(false);
    progress.event({ kind: 'step', step: `1/9:${'x'.repeat(200)}` });
    const line = text().replace('\r\x1b[2K', '');
    expect(line.length).toBeLessThan(60);
    expect(line).toContain('…');
    progress.stop(true);
  });

  it('colours the spinner, the marks and the time only when colour is on', () => {
    vi.useFakeTimers();
    const coloured = terminal(true);
    coloured.progress.event({ kind: 'step', step: '1/9:validate' });
    coloured.progress.stop(true);
    expect(coloured.text()).toContain(`\x1b[36m${SPINNER_FRAMES[0]}\x1b[39m`);
    expect(coloured.text()).toContain('\x1b[32m✓\x1b[39m');
    const plainTerminal = terminal(false);
    plainTerminal.progress.event({ kind: 'step', step: '1/9:validate' });
    plainTerminal.progress.stop(false);
    expect(plainTerminal.text()).not.toMatch(/\x1b\[\d+m/);
  });

  it.each([
    [0, '0.0s'],
    [4_249, '4.2s'],
    [59_949, '59.9s'],
    [60_000, '1m00s'],
    [125_000, '2m05s'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(elapsedText(ms)).toBe(text);
  });
});
