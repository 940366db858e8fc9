#!/usr/bin/env node
// Job modules are TypeScript; tsx compiles them on import, so users need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
