// The project's vitest config only looks in test/; the benchmark's own parser tests live
// next to the parser. Run with: npx vitest run -c bench/vitest.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Keep vitest's cache with the project's, not in bench/.
  cacheDir: fileURLToPath(new URL('../node_modules/.vite/bench', import.meta.url)),
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.test.ts'],
  },
});
