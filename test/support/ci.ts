import { existsSync } from 'node:fs';

/** True under CI (CI=true): a missing service or binary must fail there, never skip. */
export const underCi = process.env['CI'] === 'true' || process.env['CI'] === '1';

/**
 * Whether a test needing `what` should run. Off CI a missing dependency skips with a note;
 * under CI the test runs anyway and fails loudly on the missing dependency.
 */
export function shouldRun(available: boolean, what: string): boolean {
  if (available || underCi) return true;
  console.warn(`skipping tests that need ${what} (not available; under CI=true they would fail)`);
  return false;
}

export function binaryAvailable(path: string): boolean {
  return existsSync(path);
}
