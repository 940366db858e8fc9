// Threads and child processes start here: tsx compiles TypeScript job modules on import.
import { register } from 'tsx/esm/api';

register();
await import('./workerEntry.ts');
