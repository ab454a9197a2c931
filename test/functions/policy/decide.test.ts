import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionSpec, ActionType } from '../../../shared/contracts/index.js';
import { RemediationPolicySpec } from '../../../shared/contracts/index.js';
import {
  inMaintenance,
  decide,
  loadPolicies,
  type ClusterFacts,
  type DecideInput,
  type LedgerEntry,
} from '../../../functions/policy/decide.js';
import {
  EMPTY_BOOK,
  actionKey,
  followLadder,
  moveOn,
  needsDecision,
  recordDecision,
  type Plan,
  type PolicyBook,
} from '../../../functions/policy/book.js';

const NOW = Date.parse('2026-01-05T12:00:00Z');
const MI = 2 ** 20;

const ALL_ALLOWED = {
  restartPod: { allowed: true },
  evictPod: { allowed: true },
  cordonNode: { allowed: true },
  moveOffNode: { allowed: true },
  drainNode: { allowed: true },
  adjustResources: { allowed: true },
  scaleWorkload: { allowed: true },
  rollbackDeployment: { allowed: true },
  quarantinePod: { allowed: true },
};

function policy(spec: Record<string, unknown>, name = 'p') {
  return loadPolicies([{ metadata: { name, generation: 1 }, spec }]);
}

const enforce = (extra: Record<string, unknown> = {}) =>
  policy({ mode: 'enforce', actions: ALL_ALLOWED, ...extra });

function action(
  type: ActionType,
  target: Partial<ActionSpec['target']> = {},
  params: ActionSpec['params'] = {},
): ActionSpec {
  const kind = ['cordonNode', 'moveOffNode', 'drainNode'].includes(type) ? 'Node' : 'Deployment';
  return {
    type,
    target: {
      kind,
      name: kind === 'Node' ? 'node-1' : 'cart',
      ...(kind === 'Node' ? {} : { namespace: 'shop' }),
      ...target,
    },
    params,
    reason: 'test',
  };
}

function facts(extra: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    openIncidents: 1,
    nodes: 3,
    readyNodes: 3,
    cordonedNodes: [],
    namespaceLabels: {},
    target: {
      kind: 'Deployment',
      labels: { app: 'cart' },
      replicas: 3,
      revisions: 2,
      containers: [
        { name: 'app', limits: { memory: 256 * MI, cpu: 0.5 }, requests: { memory: 128 * MI, cpu: 0.1 } },
      ],
    },
    ...extra,
  };
}

function input(extra: Partial<DecideInput>): DecideInput {
  return {
    action: action('rollbackDeployment'),
    confidence: 0.9,
    policies: enforce(),
    defaultMode: 'observe',
    ownNamespace: 'kurative',
    facts: facts(),
    ledger: [],
    now: NOW,
    ...extra,
  };
}

describe('decide: modes and policies', () => {
  it('observes when no RemediationPolicy exists (the default)', () => {
    const d = decide(input({ policies: [] }));
    expect(d.verdict).toBe('observed');
    expect(d.rule.name).toBe('mode-observe');
  });

  it('without a policy, KURATIVE_MODE=enforce still allows only notify', () => {
    expect(decide(input({ policies: [], defaultMode: 'enforce' })).rule.name).toBe('action-not-allowed');
    expect(decide(input({ policies: [], defaultMode: 'enforce', action: action('notify') })).verdict).toBe(
      'approved',
    );
  });

  it('treats an invalid policy as observe and says why', () => {
    const p = policy({
      mode: 'enforce',
      actions: { scaleWorkload: { allowed: true, minReplicas: 5, maxReplicas: 2 } },
    });
    expect(p[0]?.error).toMatch(/minReplicas 5 is above maxReplicas 2/);
    const d = decide(input({ policies: p, action: action('scaleWorkload') }));
    expect(d.verdict).toBe('observed');
    expect(d.rule.name).toBe('invalid-policy');
    expect(d.rule.reason).toMatch(/treated as observe/);
  });

  it('approves an allowed action in enforce, dry-runs it in dryRun', () => {
    expect(decide(input({})).verdict).toBe('approved');
    const dry = decide(input({ policies: policy({ mode: 'dryRun', actions: ALL_ALLOWED }) }));
    expect(dry).toMatchObject({ verdict: 'approved', dryRun: true });
  });

  it('denies what the policy does not allow', () => {
    const d = decide(
      input({ policies: policy({ mode: 'enforce', actions: { restartPod: { allowed: true } } }) }),
    );
    expect(d).toMatchObject({ verdict: 'denied', rule: { name: 'action-not-allowed' } });
  });

  it('picks the highest-priority policy whose scope covers the target', () => {
    const policies = [
      ...policy({ mode: 'observe', priority: 1, scope: { namespaces: ['other'] } }, 'a'),
      ...policy({ mode: 'enforce', priority: 0, actions: ALL_ALLOWED }, 'b'),
      ...policy({ mode: 'observe', priority: -1 }, 'c'),
    ];
    const d = decide(input({ policies }));
    expect(d.rule.policy).toBe('b');
    expect(d.verdict).toBe('approved');
    const elsewhere = decide(
      input({ policies, action: action('rollbackDeployment', { namespace: 'other' }) }),
    );
    expect(elsewhere.rule.policy).toBe('a');
  });

  it('observes targets no policy covers', () => {
    const d = decide(
      input({ policies: policy({ mode: 'enforce', actions: ALL_ALLOWED, scope: { namespaces: ['x'] } }) }),
    );
    expect(d).toMatchObject({ verdict: 'observed', rule: { name: 'no-policy' } });
  });
});

describe('decide: scope and protection', () => {
  it.each(['kube-system', 'kube-public', 'kurative', 'payments'])(
    'never acts in protected namespace %s',
    (ns) => {
      const policies = enforce({ scope: { namespaces: [ns], protectedNamespaces: ['payments'] } });
      const d = decide(input({ policies, action: action('rollbackDeployment', { namespace: ns }) }));
      expect(d).toMatchObject({ verdict: 'denied', rule: { name: 'protected-namespace' } });
    },
  );

  it('honours the opt-out label on the workload, its pods and its namespace', () => {
    const optOut = { 'kurative.dev/remediation': 'disabled' };
    const base = facts();
    expect(decide(input({ facts: { ...base, target: { ...base.target!, labels: optOut } } })).rule.name).toBe(
      'opt-out',
    );
    expect(
      decide(input({ facts: { ...base, target: { ...base.target!, podsOptedOut: true } } })).rule.name,
    ).toBe('opt-out');
    expect(decide(input({ facts: { ...base, namespaceLabels: optOut } })).rule.name).toBe('opt-out');
  });

  it('applies the label selector of the scope', () => {
    const policies = enforce({ scope: { selector: { matchLabels: { tier: 'web' } } } });
    expect(decide(input({ policies })).rule.name).toBe('no-policy');
    const base = facts();
    const web = { ...base, target: { ...base.target!, labels: { tier: 'web' } } };
    expect(decide(input({ policies, facts: web })).verdict).toBe('approved');
  });
});

describe('decide: bounds', () => {
  it('grows a memory limit by the asked factor, at most maxFactor and the cap', () => {
    const a = action('adjustResources', {}, { resource: 'memory', factor: 1.5 });
    expect(decide(input({ action: a })).action.params).toMatchObject({
      'app.limits.memory': 384 * MI,
      'app.limits.memory.from': 256 * MI,
    });
    const tight = enforce({ actions: { adjustResources: { allowed: true, maxFactor: 1.2 } } });
    expect(decide(input({ action: a, policies: tight })).action.params['app.limits.memory']).toBe(307 * MI);
    const capped = enforce({ actions: { adjustResources: { allowed: true, maxMemory: '300Mi' } } });
    expect(decide(input({ action: a, policies: capped })).action.params['app.limits.memory']).toBe(300 * MI);
    const atCap = enforce({ actions: { adjustResources: { allowed: true, maxMemory: '256Mi' } } });
    expect(decide(input({ action: a, policies: atCap }))).toMatchObject({
      verdict: 'denied',
      rule: { name: 'bounds' },
    });
  });

  it('caps a CPU hog without a limit at maxFactor × its request', () => {
    const base = facts();
    const noLimit = {
      ...base,
      target: { ...base.target!, containers: [{ name: 'app', limits: {}, requests: { cpu: 0.2 } }] },
    };
    const d = decide(input({ action: action('adjustResources', {}, { resource: 'cpu' }), facts: noLimit }));
    expect(d.action.params).toMatchObject({ 'app.limits.cpu': 0.4, 'app.limits.cpu.from': 0 });
  });

  it('keeps replicas within min/max and maxStep', () => {
    const policies = enforce({ actions: { scaleWorkload: { allowed: true, maxReplicas: 4, maxStep: 1 } } });
    const d = decide(input({ policies, action: action('scaleWorkload', {}, { delta: 5 }) }));
    expect(d.action.params).toEqual({ replicas: 4, from: 3 });
    const base = facts();
    const atMax = { ...base, target: { ...base.target!, replicas: 4 } };
    expect(
      decide(input({ policies, facts: atMax, action: action('scaleWorkload', {}, { delta: 1 }) })).rule.name,
    ).toBe('bounds');
  });

  it('disrupts at most the allowed share of replicas at once', () => {
    const d = decide(input({ action: action('restartPod') }));
    expect(d.action.params['maxPods']).toBe(1);
    const base = facts();
    const single = { ...base, target: { ...base.target!, replicas: 1 } };
    expect(decide(input({ action: action('restartPod'), facts: single })).rule.name).toBe('blast-radius');
  });

  it('cordons no more nodes than maxNodes', () => {
    const d = decide(input({ action: action('moveOffNode'), facts: facts({ cordonedNodes: ['node-3'] }) }));
    expect(d).toMatchObject({ verdict: 'denied', rule: { name: 'blast-radius-nodes' } });
    expect(
      decide(input({ action: action('moveOffNode'), facts: facts({ cordonedNodes: ['node-1'] }) })).verdict,
    ).toBe('approved');
  });

  it('never empties a node whose pods would have nowhere to go', () => {
    const alone = facts({ schedulableNodes: ['node-1'] });
    expect(decide(input({ action: action('moveOffNode'), facts: alone })).rule.name).toBe(
      'no-capacity-elsewhere',
    );
    expect(decide(input({ action: action('drainNode'), facts: alone })).rule.name).toBe(
      'no-capacity-elsewhere',
    );
    // Cordoning alone moves nothing: allowed.
    expect(decide(input({ action: action('cordonNode'), facts: alone })).verdict).toBe('approved');
    const room = facts({ schedulableNodes: ['node-1', 'node-2'] });
    expect(decide(input({ action: action('moveOffNode'), facts: room })).verdict).toBe('approved');
  });

  it('leaves the replica count of an autoscaled workload to its HorizontalPodAutoscaler', () => {
    const base = facts();
    const hpa = { ...base, target: { ...base.target!, autoscaler: 'cart' } };
    const d = decide(input({ action: action('scaleWorkload', {}, { delta: 1 }), facts: hpa }));
    expect(d).toMatchObject({ verdict: 'denied', rule: { name: 'autoscaled' } });
  });

  it('refuses a rollback without a previous revision', () => {
    const base = facts();
    const one = { ...base, target: { ...base.target!, revisions: 1 } };
    expect(decide(input({ facts: one })).rule.name).toBe('bounds');
  });

  it('rolls back StatefulSets and DaemonSets too, but no other kind', () => {
    const base = facts();
    for (const kind of ['StatefulSet', 'DaemonSet']) {
      const f = { ...base, target: { ...base.target!, kind } };
      expect(decide(input({ action: action('rollbackDeployment', { kind }), facts: f })).verdict, kind).toBe(
        'approved',
      );
    }
    const pod = { ...base, target: { ...base.target!, kind: 'Pod' } };
    expect(
      decide(input({ action: action('rollbackDeployment', { kind: 'Pod', name: 'cart-0' }), facts: pod }))
        .rule.name,
    ).toBe('unsupported-target');
  });
});

describe('decide: limits, breaker, approvals, windows', () => {
  const entry = (minutesAgo: number, ns = 'shop', target = 'Deployment/shop/other'): LedgerEntry => ({
    at: NOW - minutesAgo * 60_000,
    namespace: ns,
    target,
    type: 'restartPod',
  });

  it('enforces rate limits per namespace and cluster-wide per hour', () => {
    const five = [1, 2, 3, 4, 5].map((m) => entry(m * 5));
    expect(decide(input({ ledger: five })).rule.name).toBe('rate-limit-namespace');
    expect(decide(input({ ledger: five.map((e) => ({ ...e, at: e.at - 3_600_000 })) })).verdict).toBe(
      'approved',
    );
    const many = Array.from({ length: 20 }, (_, i) => entry(i + 1, `ns${i}`));
    expect(decide(input({ ledger: many })).rule.name).toBe('rate-limit-cluster');
  });

  it('keeps a cooldown per target', () => {
    const recent = [entry(10, 'shop', 'Deployment/shop/cart')];
    expect(decide(input({ ledger: recent })).rule.name).toBe('cooldown');
    expect(decide(input({ ledger: [entry(16, 'shop', 'Deployment/shop/cart')] })).verdict).toBe('approved');
  });

  it('opens the circuit breaker when too much looks broken', () => {
    expect(decide(input({ facts: facts({ openIncidents: 6 }) })).rule.name).toBe('circuit-breaker-incidents');
    expect(decide(input({ facts: facts({ nodes: 10, readyNodes: 5 }) })).rule.name).toBe(
      'circuit-breaker-nodes',
    );
  });

  it('requires diagnosis confidence', () => {
    expect(decide(input({ confidence: 0.3 })).rule.name).toBe('min-confidence');
  });

  it('waits for a human when the action needs approval, and only then approves', () => {
    const policies = enforce({ actions: { rollbackDeployment: { allowed: true, requireApproval: true } } });
    expect(decide(input({ policies })).verdict).toBe('pendingApproval');
    const approved = decide(input({ policies, approved: true }));
    expect(approved).toMatchObject({ verdict: 'approved', rule: { name: 'approved-by-human' } });
    // An approval does not lift the other limits.
    expect(decide(input({ policies, approved: true, facts: facts({ openIncidents: 9 }) })).verdict).toBe(
      'denied',
    );
  });

  it('stops on pause and during maintenance windows', () => {
    expect(decide(input({ policies: enforce({ paused: true }) })).rule.name).toBe('paused');
    const weekly = enforce({ maintenanceWindows: [{ days: ['Mon'], start: '11:00', end: '13:00' }] });
    expect(decide(input({ policies: weekly })).rule.name).toBe('maintenance-window'); // NOW is a Monday, 12:00 UTC
    const oneOff = enforce({
      maintenanceWindows: [{ from: '2026-01-05T13:00:00Z', to: '2026-01-05T14:00:00Z' }],
    });
    expect(decide(input({ policies: oneOff })).verdict).toBe('approved');
  });

  it('handles weekly windows across midnight', () => {
    const w = RemediationPolicySpec.parse({
      maintenanceWindows: [{ start: '22:00', end: '02:00' }],
    }).maintenanceWindows;
    expect(inMaintenance(w, Date.parse('2026-01-05T23:30:00Z'))).toBe(true);
    expect(inMaintenance(w, Date.parse('2026-01-06T01:59:00Z'))).toBe(true);
    expect(inMaintenance(w, Date.parse('2026-01-06T02:00:00Z'))).toBe(false);
  });
});

describe('policy invariants (properties)', () => {
  const namespaces = ['kube-system', 'kurative', 'shop', 'web', 'kube-node-lease'];
  const types: ActionType[] = [
    'restartPod',
    'adjustResources',
    'scaleWorkload',
    'rollbackDeployment',
    'moveOffNode',
  ];

  it('never approves anything in a protected namespace, whatever the policy says', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...namespaces),
        fc.constantFrom(...types.filter((t) => t !== 'moveOffNode')),
        fc.constantFrom('enforce', 'dryRun'),
        fc.boolean(),
        (ns, type, mode, approved) => {
          const policies = policy({ mode, actions: ALL_ALLOWED, scope: { namespaces: [ns] } });
          const d = decide(input({ policies, approved, action: action(type, { namespace: ns }) }));
          if (['kube-system', 'kurative', 'kube-node-lease'].includes(ns))
            expect(d.verdict).not.toBe('approved');
        },
      ),
    );
  });

  it('holds rate limits, cooldowns and node caps under an incident storm (half the nodes failing)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            node: fc.integer({ min: 0, max: 19 }),
            ns: fc.constantFrom('a', 'b', 'c'),
            type: fc.constantFrom(...types),
            minute: fc.integer({ min: 0, max: 120 }),
          }),
          {
            minLength: 20,
            maxLength: 120,
          },
        ),
        fc.integer({ min: 1, max: 10 }),
        (storm, readyNodes) => {
          const policies = enforce({
            limits: {
              maxActionsPerHour: 6,
              maxActionsPerNamespacePerHour: 3,
              maxOpenIncidents: 200,
              minHealthyNodes: 0.4,
            },
          });
          const spec = policies[0]!.spec!;
          const book: PolicyBook = structuredClone(EMPTY_BOOK);
          const cordoned = new Set<string>();
          const ordered = [...storm].sort((a, b) => a.minute - b.minute);
          ordered.forEach((s, i) => {
            const now = NOW + s.minute * 60_000;
            const a = ['moveOffNode'].includes(s.type)
              ? action(s.type, { name: `node-${s.node}` })
              : action(s.type, { namespace: s.ns, name: `w${s.node}` });
            const plan: Plan = {
              id: `i${i}`,
              createdAt: now,
              updatedAt: now,
              actions: [a],
              confidence: 0.9,
              step: 0,
              decisions: 0,
              phase: 'open',
            };
            const d = decide(
              input({
                policies,
                action: a,
                ledger: book.ledger,
                now,
                facts: facts({
                  nodes: 20,
                  readyNodes: readyNodes * 2,
                  openIncidents: i + 1,
                  cordonedNodes: [...cordoned],
                }),
              }),
            );
            if (d.verdict === 'approved') {
              // Half the nodes or fewer Ready: the breaker must have stopped everything.
              expect((readyNodes * 2) / 20).toBeGreaterThanOrEqual(spec.limits.minHealthyNodes);
              if (a.type === 'moveOffNode') cordoned.add(a.target.name);
            }
            recordDecision(book, plan, a, d, now, `d${i}`);
            const lastHour = book.ledger.filter((e) => now - e.at < 3_600_000);
            expect(lastHour.length).toBeLessThanOrEqual(spec.limits.maxActionsPerHour);
            for (const ns of ['a', 'b', 'c'])
              expect(lastHour.filter((e) => e.namespace === ns).length).toBeLessThanOrEqual(
                spec.limits.maxActionsPerNamespacePerHour,
              );
            expect(cordoned.size).toBeLessThanOrEqual(spec.actions.moveOffNode!.maxNodes);
          });
          // Cooldown: no target acted on twice within 15 minutes.
          const byTarget = new Map<string, number[]>();
          for (const e of book.ledger) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e.at]);
          for (const times of byTarget.values())
            for (let k = 1; k < times.length; k++)
              expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(15 * 60_000);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('plans: one decision per step', () => {
  const a = action('rollbackDeployment');
  const plan = (): Plan => ({
    id: 'i',
    createdAt: NOW,
    updatedAt: NOW,
    actions: [a],
    confidence: 0.9,
    step: 0,
    decisions: 0,
    phase: 'open',
  });

  it('does not decide again while a decision stands', () => {
    const p = plan();
    expect(needsDecision(p, a, NOW)).toBe(true);
    recordDecision(structuredClone(EMPTY_BOOK), p, a, decide(input({})), NOW, 'i-d1');
    expect(p.phase).toBe('mitigating');
    expect(needsDecision(p, a, NOW + 60_000)).toBe(false);
  });

  it('decides on a remedy found after the incident was only notified about, once', () => {
    const p = plan();
    const notify = action('notify');
    recordDecision(structuredClone(EMPTY_BOOK), p, notify, decide(input({ action: notify })), NOW, 'i-d1');
    expect(p.current?.verdict).toBe('approved');
    // The same notification again, or another one: nothing new to decide.
    expect(needsDecision(p, notify, NOW + 60_000)).toBe(false);
    expect(needsDecision(p, { ...notify, reason: 'other words' }, NOW + 60_000)).toBe(false);
    // A later diagnosis with a remedy: decided, and once approved it stands.
    expect(needsDecision(p, a, NOW + 60_000)).toBe(true);
    recordDecision(structuredClone(EMPTY_BOOK), p, a, decide(input({})), NOW + 60_000, 'i-d2');
    expect(p.phase).toBe('mitigating');
    expect(needsDecision(p, a, NOW + 120_000)).toBe(false);
  });

  it('asks again for an approval that expired unanswered', () => {
    const p = plan();
    const policies = enforce({ actions: { rollbackDeployment: { allowed: true, requireApproval: true } } });
    recordDecision(structuredClone(EMPTY_BOOK), p, a, decide(input({ policies })), NOW, 'i-d1');
    expect(p.current?.expiresAt).toBe(NOW + 3_600_000);
    expect(needsDecision(p, a, NOW + 30 * 60_000)).toBe(false);
    expect(needsDecision(p, a, NOW + 61 * 60_000)).toBe(true);
  });

  it('looks again at a transient denial after a while, never at a permanent one', () => {
    const p = plan();
    recordDecision(structuredClone(EMPTY_BOOK), p, a, decide(input({ confidence: 0.1 })), NOW, 'i-d1');
    expect(needsDecision(p, a, NOW + 30_000)).toBe(false);
    expect(needsDecision(p, a, NOW + 3 * 60_000)).toBe(true);
    const q = plan();
    recordDecision(
      structuredClone(EMPTY_BOOK),
      q,
      a,
      decide(input({ policies: policy({ mode: 'enforce' }) })),
      NOW,
      'i-d1',
    );
    expect(needsDecision(q, a, NOW + 3_600_000)).toBe(false);
  });

  it('follows a changed ladder at its first action not tried yet on the incident', () => {
    const restart = action('restartPod');
    const scale = action('scaleWorkload');
    const notify = action('notify');
    const p = { ...plan(), actions: [restart, scale] };
    recordDecision(structuredClone(EMPTY_BOOK), p, restart, decide(input({ action: restart })), NOW, 'i-d1');
    // The restart did not resolve it: on to the next action…
    moveOn(p);
    expect([p.step, p.current, p.tried]).toEqual([1, undefined, [actionKey(restart)]]);
    // …and a later diagnosis whose ladder begins with scaling starts there, not at its step 1.
    followLadder(p, [scale, notify]);
    expect(p.actions[p.step]).toBe(scale);
    // A ladder that puts the tried restart first again skips it.
    followLadder(p, [restart, notify]);
    expect(p.actions[p.step]).toBe(notify);
    // Everything tried: nothing left on the ladder.
    moveOn(p);
    expect(p.step).toBe(2);
    // A plan stored before tried actions were kept counts the steps behind it as tried.
    const old: Plan = { ...plan(), actions: [restart, scale], step: 1 };
    followLadder(old, [scale, restart]);
    expect(old.actions[old.step]).toBe(scale);
  });
});
