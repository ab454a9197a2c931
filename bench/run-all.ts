// `npm run bench`: every benchmark, one after the other, each printing its own closing line.
import { spawnSync } from 'node:child_process';

const BENCHMARKS = [
  'bench:coldstart',
  'bench:nab',
  'bench:score',
  'bench:scrape',
  'bench:rca-latency',
  'bench:rca',
];
let failed = 0;
for (const name of BENCHMARKS) {
  console.log(`\n== ${name}`);
  const result = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
