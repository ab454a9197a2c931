/** A duration as text: "90s", "30m", "2h", "1d" or compounds like "2h45m" (Go's time.ParseDuration style). */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse a duration into milliseconds; malformed text throws. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (!DURATION_PATTERN.test(t))
    throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 30s, 10m, 2h45m)`);
  let ms = 0;
  for (const m of t.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  return ms;
}
