// Workers built by workerBundle.ts start here: source maps on first, so a stack trace names the
// job's own files and lines, then the one bundled file named by the first argument.
import { createRequire } from 'node:module';

process.setSourceMapsEnabled(true);
// CommonJS code in the bundle calls `require` for packages, which it names by absolute path; an
// ES module has no `require` of its own, so the bundle finds this one.
globalThis.require ??= createRequire(process.argv[2]);
await import(process.argv[2]);
