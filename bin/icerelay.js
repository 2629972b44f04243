#!/usr/bin/env node
// The `icerelay` command: runs the TypeScript CLI (src/cli/main.ts) through tsx, a dependency,
// wherever the package is installed.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
