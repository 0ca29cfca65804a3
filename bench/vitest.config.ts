// The project's vitest config only looks in test/; the benchmark's own parser tests live
// next to the parser. Run with: npx vitest run -c bench/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
  },
});
