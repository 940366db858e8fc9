#!/usr/bin/env node
// The CLI is the built JavaScript in dist/; `npm run build` (run by `npm ci` and `npm pack`) makes it.
import '../dist/cli/main.js';
