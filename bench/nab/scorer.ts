// NAB scoring, implemented from the description in shared/datasets/nab/README.md
// (NAB's nab/sweeper.py): windows, scaled sigmoid, probationary period, cost profiles,
// one threshold per profile optimised over the corpus, normalisation null = 0 / perfect = 100.

export interface Profile {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

export const PROFILES: Readonly<Record<string, Profile>> = {
  standard: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 },
};

/** One scored file: anomaly scores per row and the label windows as [startRow, endRow] (inclusive). */
export interface ScoredFile {
  readonly name: string;
  readonly scores: readonly number[];
  readonly windows: readonly (readonly [number, number])[];
}

/** NAB's scaled sigmoid: 2/(1+e^{5x}) − 1, and −1 beyond 3 window widths. */
export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

export function probationaryRows(length: number): number {
  return Math.min(Math.floor(0.15 * length), 750);
}

/** Per row: the window it is in (or −1) and its weighted score if it were a detection. */
interface RowValue {
  window: number;
  value: number;
}

function rowValues(file: ScoredFile, profile: Profile): RowValue[] {
  const n = file.scores.length;
  const out: RowValue[] = new Array<RowValue>(n);
  const windows = [...file.windows].sort((a, b) => a[0] - b[0]);
  let w = 0;
  let prev: { right: number; width: number } | undefined;
  const norm = scaledSigmoid(-1);
  for (let i = 0; i < n; i++) {
    const cur = windows[w];
    if (cur && i >= cur[0] && i <= cur[1]) {
      const width = cur[1] - cur[0] + 1;
      const position = -(cur[1] - i + 1) / width;
      out[i] = { window: w, value: (scaledSigmoid(position) * profile.tpWeight) / norm };
      if (i === cur[1]) {
        prev = { right: cur[1], width };
        w++;
      }
    } else {
      const unweighted =
        prev === undefined ? -1 : scaledSigmoid(Math.abs(prev.right - i) / Math.max(1, prev.width - 1));
      out[i] = { window: -1, value: unweighted * profile.fpWeight };
    }
  }
  return out;
}

export interface SweepPoint {
  readonly threshold: number;
  readonly score: number;
}

/**
 * Total raw score of a corpus for every distinct threshold, in one pass over the rows sorted by
 * anomaly score (a window is worth its best — earliest — detection at or above the threshold).
 */
export function sweepCorpus(files: readonly ScoredFile[], profile: Profile): SweepPoint[] {
  const rows: { score: number; value: number; window: number }[] = [];
  let windowCount = 0;
  for (const file of files) {
    const values = rowValues(file, profile);
    const start = probationaryRows(file.scores.length);
    for (let i = start; i < file.scores.length; i++) {
      const v = values[i];
      const s = file.scores[i];
      if (v === undefined || s === undefined) continue;
      rows.push({ score: s, value: v.value, window: v.window < 0 ? -1 : windowCount + v.window });
    }
    windowCount += file.windows.length;
  }
  rows.sort((a, b) => b.score - a.score);
  const best = new Float64Array(windowCount).fill(Number.NaN);
  let total = -profile.fnWeight * windowCount;
  const points: SweepPoint[] = [{ threshold: Infinity, score: total }];
  for (let i = 0; i < rows.length;) {
    const threshold = rows[i]?.score ?? 0;
    for (; i < rows.length && rows[i]?.score === threshold; i++) {
      const r = rows[i];
      if (!r) continue;
      if (r.window < 0) {
        total += r.value;
        continue;
      }
      const current = best[r.window] ?? Number.NaN;
      if (Number.isNaN(current)) {
        total += r.value + profile.fnWeight;
        best[r.window] = r.value;
      } else if (r.value > current) {
        total += r.value - current;
        best[r.window] = r.value;
      }
    }
    points.push({ threshold, score: total });
  }
  return points;
}

export interface ProfileResult {
  readonly profile: string;
  readonly threshold: number;
  readonly raw: number;
  readonly normalized: number;
}

/** Optimise one threshold over the corpus and normalise (null detector = 0, perfect = 100). */
export function scoreCorpus(files: readonly ScoredFile[], profileName: string): ProfileResult {
  const profile = PROFILES[profileName];
  if (!profile) throw new Error(`unknown profile ${profileName}`);
  const windows = files.reduce((s, f) => s + f.windows.length, 0);
  const points = sweepCorpus(files, profile);
  let best = points[0] ?? { threshold: Infinity, score: 0 };
  for (const p of points) if (p.score > best.score) best = p;
  const nullScore = -profile.fnWeight * windows;
  const perfect = profile.tpWeight * windows;
  const normalized = perfect === nullScore ? 0 : (100 * (best.score - nullScore)) / (perfect - nullScore);
  return { profile: profileName, threshold: best.threshold, raw: best.score, normalized };
}
