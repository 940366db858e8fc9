import { readFileSync } from 'node:fs';

/**
 * The version in sluice's own package.json, read at run time: two levels up from this file, both
 * from src/cli/ in the repository and from dist/cli/ in an installed package.
 */
export function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
