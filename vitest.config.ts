import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // .tmp holds scratch copies (benchmark runs, test output) that must not be collected as tests.
    exclude: [...configDefaults.exclude, '.tmp/**'],
  },
});
