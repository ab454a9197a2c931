import { describe, expect, it } from 'vitest';
import { planBounds, type TargetFacts } from '../../../functions/policy/bounds.js';
import { RemediationPolicySpec, type ActionSpec } from '../../../shared/contracts/index.js';

const GI = 2 ** 30;
const claim = { kind: 'PersistentVolumeClaim', namespace: 'db', name: 'data-0' };
const expand = (factor?: number): ActionSpec => ({
  type: 'expandVolume',
  target: claim,
  params: factor === undefined ? {} : { factor },
  reason: '',
});
const policy = (expandVolume: Record<string, unknown> | undefined) =>
  RemediationPolicySpec.parse({ mode: 'enforce', actions: expandVolume ? { expandVolume } : {} });
const facts = (requested: number, expandable = true): { target: TargetFacts; cordonedNodes: string[] } => ({
  target: {
    kind: 'PersistentVolumeClaim',
    labels: {},
    volume: { requested, storageClass: 'gp3', expandable },
  },
  cordonedNodes: [],
});

describe('expandVolume bounds', () => {
  it('grows the claim by the factor, rounded up to whole GiB', () => {
    const planned = planBounds(expand(1.5), policy({ allowed: true }), facts(10 * GI));
    expect(planned).toEqual({
      ok: true,
      action: { ...expand(1.5), params: { storage: 15 * GI, from: 10 * GI } },
      note: 'storage 10Gi → 15Gi',
    });
    const small = planBounds(expand(1.5), policy({ allowed: true }), facts(1.2 * GI));
    expect(small.ok && small.action.params).toEqual({ storage: 2 * GI, from: 1.2 * GI });
  });

  it('never beyond maxFactor nor maxSize, and refuses when nothing can grow', () => {
    const capped = planBounds(expand(5), policy({ allowed: true, maxFactor: 1.5 }), facts(10 * GI));
    expect(capped.ok && capped.action.params['storage']).toBe(15 * GI);
    // 1.5 × 3Gi rounds up to 5Gi, above maxFactor 1.5 (4.5Gi): the bound itself, in whole MiB.
    const bound = planBounds(expand(1.5), policy({ allowed: true, maxFactor: 1.5 }), facts(3 * GI));
    expect(bound.ok && bound.action.params['storage']).toBe(4.5 * GI);
    const sized = planBounds(expand(2), policy({ allowed: true, maxSize: '12Gi' }), facts(10 * GI));
    expect(sized.ok && sized.action.params['storage']).toBe(12 * GI);
    expect(planBounds(expand(2), policy({ allowed: true, maxSize: '10Gi' }), facts(10 * GI))).toMatchObject({
      ok: false,
      rule: 'bounds',
    });
  });

  it('refuses a claim whose StorageClass does not allow expansion, and other targets', () => {
    expect(planBounds(expand(), policy({ allowed: true }), facts(10 * GI, false))).toEqual({
      ok: false,
      rule: 'unsupported-target',
      reason: 'StorageClass gp3 of data-0 does not allow volume expansion',
    });
    const deployment = { ...expand(), target: { kind: 'Deployment', namespace: 'db', name: 'x' } };
    expect(planBounds(deployment, policy({ allowed: true }), facts(10 * GI))).toMatchObject({
      ok: false,
      rule: 'unsupported-target',
    });
    expect(planBounds(expand(), policy(undefined), facts(10 * GI))).toMatchObject({
      ok: false,
      rule: 'action-not-allowed',
    });
  });
});
