import { describe, expect, it } from 'vitest';
import { CPU_TYPES, hasX86_64v2 } from '../../../src/config/cpu.js';
import { OS_CATALOG, type OsId } from '../../../src/config/os-images.js';
import { cpuHasX86_64v2, IMAGE_CATALOG } from '../../../src/sim/guest-image.js';

// linus' catalog is what it believes of each distribution's image; the simulator's image server
// models the images themselves. They must tell the same story.
describe('the OS catalog', () => {
  it('names the paths, agent and CPU needs of the images the simulated mirrors serve', () => {
    for (const id of Object.keys(OS_CATALOG) as OsId[]) {
      const os = OS_CATALOG[id];
      const image = IMAGE_CATALOG.find((entry) => entry.os === id);
      expect(image, id).toBeDefined();
      expect({ path: new URL(os.image).pathname, sumsPath: new URL(os.sums).pathname, agent: os.agent, needsX86_64v2: os.needsX86_64v2 }, id).toEqual({
        path: image?.path,
        sumsPath: image?.sumsPath,
        agent: image?.guest.agent,
        needsX86_64v2: image?.guest.needsX86_64v2,
      });
    }
  });

  it('knows which CPU types lack x86-64-v2 as the simulated guests do', () => {
    expect(CPU_TYPES.filter((cpu) => hasX86_64v2(cpu) !== cpuHasX86_64v2(cpu))).toEqual([]);
  });
});
