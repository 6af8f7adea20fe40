import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['tests/**/*.test.ts'],
    // Files run at once: each simulated host has a loopback block of its own
    // (src/sim/address-block.ts), and most of a file's time is waiting on simulated guests.
    fileParallelism: true,
    maxWorkers: 3,
    // A worker keeps the modules it loaded for its next file: the suite is CPU-bound on two cores
    // and re-importing src/ for every file cost more than a minute of it. Tests share no module
    // state they change (no mocks; what a test sets in process.env it restores).
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
