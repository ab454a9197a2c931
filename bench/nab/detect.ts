import {
  DAY_MS,
  DEFAULT_PARAMS,
  newState,
  observe,
  type DetectorParams,
} from '../../functions/score/detector.js';

/** Run the score detector over one series, point by point, as the score function does. */
export function detectSeries(
  values: readonly number[],
  epochMs: readonly number[],
  params: DetectorParams = { ...DEFAULT_PARAMS, seasonMs: DAY_MS, seasonBins: 288 },
): number[] {
  const state = newState();
  const out: number[] = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++)
    out[i] = observe(state, values[i] ?? 0, epochMs[i] ?? 0, params).score;
  return out;
}
