import { readFileSync } from 'node:fs';

/**
 * The stylesheet and the script ship as plain files beside this module (scripts/finishBuild.mjs
 * copies them into dist/): no CDN, no bundle, nothing to build, and they work offline.
 */
const files = {
  'dashboard.css': 'text/css',
  'dashboard.js': 'text/javascript',
} as const;

export interface Asset {
  type: string;
  body: string;
}

let loaded: Map<string, Asset> | undefined;

/** An asset by file name, read once. */
export function asset(name: string): Asset | undefined {
  loaded ??= new Map(
    Object.entries(files).map(([file, type]) => [
      file,
      { type, body: readFileSync(new URL(`./assets/${file}`, import.meta.url), 'utf8') },
    ]),
  );
  return loaded.get(name);
}
