// `npm run generate`: writes what is derived from the sources: the CRDs under deploy/crds/ (from the
// zod contracts) and the derived parts of the Helm chart (scripts/chart.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { kurativeCrds, renderCrd } from '../shared/contracts/crds.js';
import { repoRoot } from '../shared/tools/index.js';
import { CHART_DIR, chartFiles } from './chart.js';

const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
};
for (const [file, object] of Object.entries(kurativeCrds()))
  write(join(repoRoot, 'deploy', 'crds', file), renderCrd(object));
for (const [file, text] of Object.entries(chartFiles())) write(join(CHART_DIR, file), text);
