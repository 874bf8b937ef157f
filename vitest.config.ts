// Vitest for `npm test`. Kept out of tsconfig.json's "include" on purpose: it is configuration, not part of
// the compiled package (dist/), and vitest type-strips it itself.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    // Separate processes: a test that hangs or leaks handles cannot take its neighbours with it.
    pool: 'forks',
    // Generous for the simulator's property tests on a 2-core CI machine; a wedged test still fails well
    // inside the CI budget of 15 minutes.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
  },
});
