import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../bench/nab/corpus.js';
import {
  probationaryRows,
  scaledSigmoid,
  scoreCorpus,
  sweepCorpus,
  PROFILES,
  type ScoredFile,
} from '../../bench/nab/scorer.js';
import { repoRoot } from '../../shared/tools/index.js';

const zeros = (n: number) => new Array<number>(n).fill(0);

describe('NAB scorer', () => {
  const n = 1000;
  const windows: [number, number][] = [
    [300, 399],
    [700, 799],
  ];
  const withDetections = (rows: number[]): ScoredFile => {
    const scores = zeros(n);
    for (const r of rows) scores[r] = 1;
    return { name: 'f', scores, windows };
  };

  it('scores the null detector 0 and a perfect one 100 in every profile', () => {
    for (const profile of Object.keys(PROFILES)) {
      expect(scoreCorpus([withDetections([])], profile).normalized).toBe(0);
      expect(scoreCorpus([withDetections([300, 700])], profile).normalized).toBeCloseTo(100, 10);
    }
  });

  it('rewards earlier detection inside a window, and counts only the best one per window', () => {
    const early = scoreCorpus([withDetections([310, 700])], 'standard').raw;
    const late = scoreCorpus([withDetections([390, 700])], 'standard').raw;
    const both = scoreCorpus([withDetections([310, 390, 700])], 'standard').raw;
    expect(early).toBeGreaterThan(late);
    expect(both).toBeCloseTo(early, 12);
    // Detection at the right edge is worth about nothing, at the left edge about tpWeight.
    expect(scaledSigmoid(-1) / scaledSigmoid(-1)).toBe(1);
    expect(scaledSigmoid(0)).toBe(0);
  });

  it('charges false positives, less right after a window, fpWeight far from any', () => {
    const base = scoreCorpus([withDetections([300, 700])], 'standard').raw;
    const justAfter = scoreCorpus([withDetections([300, 405, 700])], 'standard').raw;
    const farAway = scoreCorpus([withDetections([300, 600, 700])], 'standard').raw;
    expect(justAfter).toBeLessThan(base);
    expect(farAway).toBeCloseTo(base - PROFILES['standard']!.fpWeight, 4);
    expect(base - justAfter).toBeLessThan(base - farAway);
  });

  it('ignores detections in the probationary period', () => {
    expect(probationaryRows(1000)).toBe(150);
    expect(probationaryRows(100_000)).toBe(750);
    expect(scoreCorpus([withDetections([10, 300, 700])], 'standard').normalized).toBeCloseTo(100, 10);
  });

  it('picks one threshold for the whole corpus', () => {
    const a: ScoredFile = {
      name: 'a',
      scores: zeros(n).map((_, i) => (i === 300 ? 0.9 : i === 700 ? 0.9 : 0.1)),
      windows,
    };
    const b: ScoredFile = { name: 'b', scores: zeros(n).map((_, i) => (i === 500 ? 0.95 : 0)), windows: [] };
    const points = sweepCorpus([a, b], PROFILES['standard']!);
    expect(points[0]?.threshold).toBe(Infinity);
    const best = scoreCorpus([a, b], 'standard');
    expect(best.threshold).toBe(0.9);
  });
});

describe('bench:nab on any NAB-format corpus', () => {
  it('writes NAB-layout results and the closing line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kurative-nab-'));
    mkdirSync(join(dir, 'data', 'synthetic'), { recursive: true });
    const start = Date.UTC(2020, 0, 1);
    const ts = (i: number) => new Date(start + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    const rows = Array.from(
      { length: 2000 },
      (_, i) => `${ts(i)},${i >= 1500 && i < 1520 ? 200 : 100 + Math.sin(i / 10)}`,
    );
    writeFileSync(join(dir, 'data', 'synthetic', 'shift.csv'), `timestamp,value\n${rows.join('\n')}\n`);
    writeFileSync(
      join(dir, 'windows.json'),
      JSON.stringify({ 'synthetic/shift.csv': [[`${ts(1450)}.000000`, `${ts(1550)}.000000`]] }),
    );
    const result = spawnSync(
      'npx',
      [
        'tsx',
        'bench/nab/run.ts',
        '--data',
        join(dir, 'data'),
        '--labels',
        join(dir, 'windows.json'),
        '--out',
        join(dir, 'out'),
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    const last = result.stdout.trim().split('\n').pop() ?? '';
    expect(last).toMatch(
      /^nab: standard=-?\d+\.\d+ reward_low_FP_rate=-?\d+\.\d+ reward_low_FN_rate=-?\d+\.\d+$/,
    );
    const out = readFileSync(join(dir, 'out', 'kurative', 'synthetic', 'kurative_shift.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score,label');
    expect(out).toHaveLength(2001);
    const labelled = out.slice(1).filter((l) => l.endsWith(',1')).length;
    expect(labelled).toBe(101);
    for (const line of out.slice(1)) {
      const score = Number(line.split(',')[2]);
      expect(score >= 0 && score <= 1).toBe(true);
    }
    expect(loadCorpus(join(dir, 'data'), join(dir, 'windows.json'))[0]?.windows).toEqual([[1450, 1550]]);
  }, 60_000);
});
