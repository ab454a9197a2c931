// `npm run bench:nab -- --data <dir> --labels <windows.json> [--out <dir>]`: stream every NAB file
// through the score detector point by point, write NAB-layout results, score all three profiles.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { repoRoot } from '../../shared/tools/index.js';
import { detectSeries } from './detect.js';
import { loadCorpus } from './corpus.js';
import { PROFILES, scoreCorpus, type ScoredFile } from './scorer.js';

const program = new Command('bench:nab')
  .option(
    '--data <dir>',
    'NAB data directory (categories of CSV files)',
    resolve(repoRoot, '../shared/datasets/nab/data'),
  )
  .option(
    '--labels <file>',
    'NAB combined_windows.json',
    resolve(repoRoot, '../shared/datasets/nab/labels/combined_windows.json'),
  )
  .option('--out <dir>', 'results directory (NAB layout)', resolve(repoRoot, 'results/nab'))
  .option('--detector <name>', 'detector name in the results layout', 'kurative')
  .option('--quiet', 'only the closing line')
  .action((opts: { data: string; labels: string; out: string; detector: string; quiet?: boolean }) => {
    const started = performance.now();
    // The defaults are the corpus beside this repository (../shared); elsewhere, say what to pass.
    for (const [option, path] of [
      ['--data', opts.data],
      ['--labels', opts.labels],
    ] as const)
      if (!existsSync(resolve(path)))
        program.error(`bench:nab: no NAB corpus at ${resolve(path)}; pass ${option} (see --help)`);
    const corpus = loadCorpus(resolve(opts.data), resolve(opts.labels));
    const scored: ScoredFile[] = [];
    let samples = 0;
    for (const file of corpus) {
      const scores = detectSeries(file.values, file.epochMs);
      samples += scores.length;
      scored.push({ name: file.key, scores, windows: file.windows });
      const labels = new Uint8Array(file.values.length);
      for (const [a, b] of file.windows) labels.fill(1, a, b + 1);
      const dir = join(resolve(opts.out), opts.detector, file.category);
      mkdirSync(dir, { recursive: true });
      const rows = file.values.map(
        (v, i) => `${file.timestamps[i]},${v},${(scores[i] ?? 0).toFixed(6)},${labels[i]}`,
      );
      writeFileSync(
        join(dir, `${opts.detector}_${file.name}`),
        `timestamp,value,anomaly_score,label\n${rows.join('\n')}\n`,
      );
    }
    const results = Object.keys(PROFILES).map((p) => scoreCorpus(scored, p));
    if (!opts.quiet) {
      console.log(
        `nab files=${corpus.length} windows=${scored.reduce((s, f) => s + f.windows.length, 0)} samples=${samples} ms=${Math.round(performance.now() - started)}`,
      );
      for (const r of results)
        console.log(
          `nab ${r.profile}: normalized=${r.normalized.toFixed(2)} raw=${r.raw.toFixed(3)} threshold=${r.threshold.toFixed(6)}`,
        );
    }
    const [standard, lowFp, lowFn] = results;
    console.log(
      `nab: standard=${standard?.normalized.toFixed(2)} reward_low_FP_rate=${lowFp?.normalized.toFixed(2)} reward_low_FN_rate=${lowFn?.normalized.toFixed(2)}`,
    );
  });
program.parse();
