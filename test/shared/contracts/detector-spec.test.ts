import { describe, expect, it } from 'vitest';
import { DetectorSpec } from '../../../shared/contracts/index.js';

const messages = (spec: unknown) => {
  const r = DetectorSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe('Detector spec: the limit query', () => {
  it('goes with a PromQL signal and a forecast', () => {
    const spec = DetectorSpec.parse({
      signal: { promql: 'used_bytes', name: 'used_bytes', limitPromql: 'capacity_bytes' },
      algorithm: 'forecast-limit',
    });
    expect(spec.signal.limitPromql).toBe('capacity_bytes');
  });

  it('is refused, with the reason, on a built-in signal (its limit comes from the pod spec)', () => {
    expect(messages({ signal: { metric: 'memory_working_set_bytes', limitPromql: 'x' } })).toEqual([
      'limitPromql needs promql',
    ]);
    expect(messages({ signal: { promql: 'u', name: 'u', limitPromql: '' } }).length).toBeGreaterThan(0);
  });
});
