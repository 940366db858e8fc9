// Workers built by workerBundle.ts start here: source maps on first, so a stack trace names the
// job's own files and lines, then the one bundled file named by the first argument.
process.setSourceMapsEnabled(true);
await import(process.argv[2]);
