import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { perturbScenarios } from '../../bench/rca/perturb.js';
import { loadScenarios } from '../../sandbox/simulator/scenario.js';
import { repoRoot } from '../../shared/tools/index.js';

describe('bench:rca --perturb', () => {
  it('gives every scenario another seed, renamed namespaces and later faults, and they still load', () => {
    const dir = join(repoRoot, 'sandbox', 'scenarios');
    const originals = loadScenarios(dir);
    const perturbed = loadScenarios(perturbScenarios(dir, mkdtempSync(join(tmpdir(), 'k-perturb-'))));
    expect(perturbed.map((s) => s.name).sort()).toEqual(originals.map((s) => `${s.name}-p`).sort());
    for (const p of perturbed) {
      const o = originals.find((s) => `${s.name}-p` === p.name);
      if (!o) throw new Error('unreachable');
      expect(p.seed).not.toBe(o.seed);
      expect(p.faults.map((f) => f.at)).toEqual(o.faults.map((f) => f.at + 7 * 60_000));
      const spaces = (o.cluster.namespaces ?? []).filter((ns) => ns !== 'default');
      expect(p.cluster.namespaces).toEqual(
        o.cluster.namespaces?.map((ns) => (spaces.includes(ns) ? `${ns}-p` : ns)),
      );
      const root = o.truth.rootCause;
      if (root?.namespace && spaces.includes(root.namespace))
        expect(p.truth.rootCause).toEqual({ ...root, namespace: `${root.namespace}-p` });
      // The run lasts as long after the last fault as before.
      if (o.faults.length > 0) expect(p.duration).toBe(o.duration + 7 * 60_000);
    }
  });
});
