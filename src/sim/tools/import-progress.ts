import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { renderBytes } from './format-size.js';

// qemu_img_convert's progress: one line per percent, `transferred <done> of <total> (<pct>%)`.
// With faults.importFail the copy stops part-way with qemu_img_convert's error. `from`/`to` print
// a part of the lines (the copy paused in between).
export function reportImport(ctx: ToolContext, size: number, source: string, sourceFormat: string, target: string, from = 0, to = 100): void {
  const failAt = ctx.faults.importFail ? 37 : undefined;
  for (let pct = from; pct <= to; pct += 1) {
    if (failAt !== undefined && pct > failAt) {
      throw new PveDie(`copy failed: command '/usr/bin/qemu-img convert -p -n -f ${sourceFormat} -O raw ${source} zeroinit:${target}' failed: exit code 1`);
    }
    const done = Math.floor((size * pct) / 100);
    ctx.out(`transferred ${renderBytes(done)} of ${renderBytes(size)} (${pct.toFixed(2)}%)\n`);
  }
}
