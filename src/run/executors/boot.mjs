// Threads and child processes start here when their job could not be bundled: tsx compiles
// TypeScript job modules on import. The entry is `.js` in the built package, `.ts` in the source.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const built = new URL('./workerEntry.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('./workerEntry.ts', import.meta.url).href);
