import { describe, expect, it } from 'vitest';
import { progressRenderer } from '../../../../src/cli/render/progress.js';

describe('progress lines', () => {
  it("shows the host's log once: not protocol lines, nor its echo of the error and warnings the result repeats", () => {
    const written: string[] = [];
    const render = progressRenderer({ quiet: false, tty: false, write: (text) => written.push(text) });
    for (const line of [
      'linus: call: qm start 100',
      "linus: warning: VM 'web01' on node pve: the memory of node 'pve' will be 81.3 % used (over 80 %)",
      "LINUS_WARNING:VM 'web01' on node pve: the memory of node 'pve' will be 81.3 % used (over 80 %)",
      'linus: error [START_FAILED]: qm start 100 failed',
      'linus: rollback: VM 100 and its volumes removed',
    ]) {
      render({ kind: 'log', line });
    }
    expect(written).toEqual(['linus: call: qm start 100\n', 'linus: rollback: VM 100 and its volumes removed\n']);
  });
});
