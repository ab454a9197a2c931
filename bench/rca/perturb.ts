// Perturbed copies of scenario files, to check that root-cause ranking holds beyond the exact
// scenarios it was developed on: another seed, every namespace renamed, every fault (and the
// failure time, and the run) later by a few minutes.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDuration } from '../../shared/duration/index.js';

export interface Perturbation {
  /** Added to the scenario's seed. */
  readonly seedOffset: number;
  /** Added to every fault's time, the failure time and the duration. */
  readonly shiftMs: number;
  /** Appended to every namespace the scenario declares (except default and kube-system). */
  readonly namespaceSuffix: string;
}

/** Appended to a perturbed scenario's name. */
export const PERTURBED_SUFFIX = '-p';

export const DEFAULT_PERTURBATION: Perturbation = {
  seedOffset: 7919,
  shiftMs: 7 * 60_000,
  namespaceSuffix: PERTURBED_SUFFIX,
};

const minutes = (ms: number) => `${Math.round(ms / 60_000)}m`;
const later = (text: string, shiftMs: number) => minutes(parseDuration(text) + shiftMs);

/** One scenario file's text, perturbed (its name gets PERTURBED_SUFFIX). */
export function perturbScenario(text: string, p: Perturbation = DEFAULT_PERTURBATION): string {
  const namespaces = (
    (parse(text) as { cluster?: { namespaces?: string[] } }).cluster?.namespaces ?? []
  ).filter((ns) => ns !== 'default' && ns !== 'kube-system');
  // Namespaces appear in objects, targets, selectors and images alike: renamed as words everywhere.
  let renamed = text;
  for (const ns of namespaces)
    renamed = renamed.replace(new RegExp(`(?<![\\w-])${ns}(?![\\w-])`, 'g'), `${ns}${p.namespaceSuffix}`);
  const s = parse(renamed) as {
    name: string;
    seed?: number;
    duration?: string;
    faults?: { at: string }[];
    truth?: { failureAt?: string };
    benign?: boolean;
  };
  s.name = `${s.name}${PERTURBED_SUFFIX}`;
  s.seed = (s.seed ?? 1) + p.seedOffset;
  if (s.faults && s.faults.length > 0) {
    for (const f of s.faults) f.at = later(f.at, p.shiftMs);
    if (s.truth?.failureAt) s.truth.failureAt = later(s.truth.failureAt, p.shiftMs);
    if (s.duration) s.duration = later(s.duration, p.shiftMs);
  }
  return stringify(s);
}

/** Write a perturbed copy of every scenario file in `from` to `to`; returns `to`. */
export function perturbScenarios(from: string, to: string, p: Perturbation = DEFAULT_PERTURBATION): string {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) {
    if (!['.yaml', '.yml'].includes(extname(f))) continue;
    writeFileSync(join(to, f), perturbScenario(readFileSync(join(from, f), 'utf8'), p));
  }
  return to;
}
