// Alerting with hysteresis and a minimum duration: an episode opens when the score stays at or
// above `threshold` for `minDurationMs`, and closes only when it falls below `clearThreshold`,
// so a series hovering at the edge does not flap.

export interface EpisodeState {
  /** When the score first went at/above threshold in the current run (ms), or −1. */
  aboveSince: number;
  /** Open episode: when it started (ms), else −1. */
  onset: number;
  /** Last time an anomaly was emitted for the open episode (ms). */
  lastEmit: number;
}

export function newEpisode(): EpisodeState {
  return { aboveSince: -1, onset: -1, lastEmit: 0 };
}

export interface EpisodeRule {
  readonly threshold: number;
  readonly clearThreshold: number;
  readonly minDurationMs: number;
  /** While open, re-emit at most this often (so downstream sees it is still going on). */
  readonly refreshMs: number;
}

export type EpisodeOutcome =
  { readonly emit: false } | { readonly emit: true; readonly onset: number; readonly fresh: boolean };

/** Advance the episode state with one score at time `t`; says whether to emit an anomaly now. */
export function stepEpisode(
  state: EpisodeState,
  score: number,
  t: number,
  rule: EpisodeRule,
): EpisodeOutcome {
  if (state.onset >= 0) {
    if (score < rule.clearThreshold) {
      state.onset = -1;
      state.aboveSince = -1;
      return { emit: false };
    }
    if (t - state.lastEmit >= rule.refreshMs) {
      state.lastEmit = t;
      return { emit: true, onset: state.onset, fresh: false };
    }
    return { emit: false };
  }
  if (score < rule.threshold) {
    state.aboveSince = -1;
    return { emit: false };
  }
  if (state.aboveSince < 0) state.aboveSince = t;
  if (t - state.aboveSince < rule.minDurationMs) return { emit: false };
  state.onset = state.aboveSince;
  state.lastEmit = t;
  return { emit: true, onset: state.onset, fresh: true };
}
