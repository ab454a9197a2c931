import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (works from sources and from dist/). */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
})();

/** Path of a bundled binary extracted by scripts/install-tools.mjs. */
export function toolPath(name: 'kubectl' | 'helm'): string {
  return join(repoRoot, '.tools', 'bin', name);
}
