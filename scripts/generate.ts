// `npm run generate`: writes what is derived from the contracts (CRDs under deploy/crds/).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kurativeCrds, renderCrd } from '../shared/contracts/crds.js';
import { repoRoot } from '../shared/tools/index.js';

for (const [file, object] of Object.entries(kurativeCrds())) {
  const path = join(repoRoot, 'deploy', 'crds', file);
  writeFileSync(path, renderCrd(object));
  console.log(`wrote ${path}`);
}
