import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, EVENT_TYPES } from '../../shared/contracts/index.js';
import { repoRoot } from '../../shared/tools/index.js';
import { ROUTES } from '../../triggers/index.js';

interface StackFunction {
  image: string;
  environment: Record<string, string>;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  readonly_root_filesystem?: boolean;
}

const stack = parse(readFileSync(join(repoRoot, 'stack.yml'), 'utf8'), { merge: true }) as {
  provider: { name: string };
  functions: Record<string, StackFunction>;
};

describe('OpenFaaS stack.yml', () => {
  it('deploys every function from the one image, of-watchdog in HTTP mode, scaling to zero', () => {
    expect(stack.provider.name).toBe('openfaas');
    expect(Object.keys(stack.functions).sort()).toEqual(FUNCTION_NAMES.map((f) => `kurative-${f}`).sort());
    const images = new Set(Object.values(stack.functions).map((f) => f.image));
    expect(images.size).toBe(1);
    for (const fn of FUNCTION_NAMES) {
      const f = stack.functions[`kurative-${fn}`];
      expect(f?.environment['FUNCTION_TARGET']).toBe(fn);
      expect(f?.environment['mode']).toBe('http');
      expect(f?.environment['fprocess']).toBe('node /app/entry.mjs --upstream');
      expect(f?.labels['com.openfaas.scale.zero']).toBe('true');
      expect(f?.readonly_root_filesystem).toBe(true);
    }
  });

  it('gives node the same heap settings as the Helm chart', () => {
    const chart = /- name: NODE_OPTIONS\s+value: (.+)/.exec(
      readFileSync(join(repoRoot, 'deploy/helm/kurative/templates/_helpers.tpl'), 'utf8'),
    )?.[1];
    expect(chart).toContain('--initial-old-space-size=');
    for (const fn of FUNCTION_NAMES)
      expect(stack.functions[`kurative-${fn}`]?.environment['NODE_OPTIONS']).toBe(chart);
  });

  it('schedules with cron-connector exactly the functions the PingSource triggers', () => {
    const pinged = new Set(
      ROUTES.filter((r) => r.filter['type'] === EVENT_TYPES.ping).map((r) => r.function),
    );
    for (const fn of FUNCTION_NAMES) {
      const a = stack.functions[`kurative-${fn}`]?.annotations ?? {};
      expect(a['topic'] === 'cron-function', fn).toBe(pinged.has(fn));
      if (pinged.has(fn)) expect(a['schedule']).toBe('* * * * *');
    }
  });
});
