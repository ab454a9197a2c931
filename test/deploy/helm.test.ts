import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, chartFiles } from '../../scripts/chart.js';
import { DetectorSpec, FUNCTION_NAMES, RemediationPolicySpec } from '../../shared/contracts/index.js';
import { PERMISSIONS, ROUTES, WATCHED_RESOURCES } from '../../triggers/index.js';
import { CHART, helm, renderChart, type K8sObject } from '../support/helm.js';
import { binaryAvailable, shouldRun } from '../support/ci.js';
import { HELM } from '../support/kubectl.js';

const helmAvailable = shouldRun(binaryAvailable(HELM), `helm (${HELM}; run npm ci)`);

/** The schema-checked model class for an object, from kubernetes-models and @kubernetes-models/knative. */
async function modelFor(o: K8sObject): Promise<{ validate(): void } | undefined> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path = group
    ? group.endsWith('knative.dev')
      ? `@kubernetes-models/knative/${group}/${version}`
      : `kubernetes-models/${group}/${version}`
    : `kubernetes-models/${version}`;
  const module = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[o.kind];
  return Model ? new Model(o) : undefined;
}

/** Validate every rendered object against its schema (custom resources against our zod contracts). */
async function validateAll(objects: K8sObject[]): Promise<void> {
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.name}`;
    if (o.apiVersion === 'kurative.dev/v1alpha1') {
      const schema = o.kind === 'RemediationPolicy' ? RemediationPolicySpec : DetectorSpec;
      const parsed = schema.safeParse(o['spec']);
      expect(parsed.success, `${where}: ${parsed.error?.message ?? ''}`).toBe(true);
      continue;
    }
    const model = await modelFor(o);
    expect(model, `no schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
    expect(() => model?.validate(), where).not.toThrow();
  }
}

const VARIANTS: Record<string, string[]> = {
  default: [],
  redis: ['store.type=redis', 'store.redis.url=redis://redis.kurative:6379/0', 'mode=enforce'],
  redisSecret: ['store.type=redis', 'store.redis.existingSecret.name=kurative-redis'],
  existingBroker: [
    'broker.create=false',
    'broker.name=default',
    'delivery.deadLetterSink.uri=http://dlq.example/',
    'deadLetters.create=false',
  ],
  tuned: [
    'mode=dryRun',
    'watchNamespaces={shop,web}',
    'prometheus.url=http://prometheus.monitoring:9090',
    'detectors.appSignals=true',
    'detectors.storage=true',
    'functions.score.maxScale=50',
    'schedule=*/2 * * * *',
    'sources.apiServer.enabled=false',
  ],
};

describe('generated chart files', () => {
  it('are what the sources render (run npm run generate after changing routes, permissions or contracts)', () => {
    for (const [file, text] of Object.entries(chartFiles()))
      expect(readFileSync(join(CHART_DIR, file), 'utf8'), file).toBe(text);
  });
});

describe.runIf(helmAvailable)('the Helm chart with the real helm', () => {
  it.each(Object.entries(VARIANTS))('lints and renders valid objects: %s', async (_name, set) => {
    const lint = await helm(['lint', CHART, ...set.flatMap((s) => ['--set', s])]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    const objects = await renderChart(set);
    expect(objects.length).toBeGreaterThan(20);
    await validateAll(objects);
  });

  it('renders one Trigger per route, exactly as triggers/routes.ts says', async () => {
    const triggers = (await renderChart()).filter((o) => o.kind === 'Trigger');
    const rendered = triggers
      .map((t) => {
        const spec = t['spec'] as {
          broker: string;
          filter: { attributes: Record<string, string> };
          subscriber: { ref: { name: string } };
          delivery: { retry: number; backoffPolicy: string; deadLetterSink: unknown };
        };
        expect(spec.broker).toBe('kurative');
        expect(spec.delivery).toMatchObject({ retry: 5, backoffPolicy: 'exponential' });
        expect(spec.delivery.deadLetterSink).toBeDefined();
        return {
          name: t.metadata.labels?.['kurative.dev/route'],
          function: spec.subscriber.ref.name.replace(/^kurative-/, ''),
          filter: spec.filter.attributes,
        };
      })
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const routes = ROUTES.map((r) => ({ name: r.name, function: r.function, filter: r.filter })).sort(
      (a, b) => a.name.localeCompare(b.name),
    );
    expect(rendered).toEqual(routes);
  });

  it('renders a scale-to-zero Knative Service per function with its own service account', async () => {
    const objects = await renderChart(['functions.score.maxScale=50']);
    const services = objects.filter((o) => o.kind === 'Service' && o.apiVersion === 'serving.knative.dev/v1');
    for (const fn of FUNCTION_NAMES) {
      const s = services.find((x) => x.metadata.name === `kurative-${fn}`);
      const template = (
        s?.['spec'] as {
          template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> };
        }
      ).template;
      expect(template.metadata.annotations['autoscaling.knative.dev/min-scale']).toBe('0');
      expect(template.spec['serviceAccountName']).toBe(`kurative-${fn}`);
      const container = (
        template.spec['containers'] as {
          env: { name: string; value?: string }[];
          securityContext: Record<string, unknown>;
        }[]
      )[0];
      expect(container?.env.find((e) => e.name === 'FUNCTION_TARGET')?.value).toBe(fn);
      expect(container?.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    }
    const score = services.find((x) => x.metadata.name === 'kurative-score');
    expect(JSON.stringify(score)).toContain('"autoscaling.knative.dev/max-scale":"50"');
  });

  it('renders the ApiServerSource from triggers/sources.ts with a read-only service account', async () => {
    const objects = await renderChart();
    const source = objects.find((o) => o.kind === 'ApiServerSource');
    const spec = source?.['spec'] as {
      mode: string;
      resources: { apiVersion: string; kind: string }[];
      serviceAccountName: string;
    };
    expect(spec.mode).toBe('Resource');
    expect(spec.resources).toEqual(
      WATCHED_RESOURCES.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind })),
    );
    const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'kurative-source');
    const verbs = new Set((role?.['rules'] as { verbs: string[] }[]).flatMap((r) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    // Restricted to some namespaces, a second source still watches the cluster-scoped kinds
    // (Nodes, Incidents and their approvals): nothing in WATCHED_RESOURCES is lost.
    const restricted = (await renderChart(['watchNamespaces={shop}'])).filter(
      (o) => o.kind === 'ApiServerSource',
    );
    expect(restricted).toHaveLength(2);
    const watched = restricted.flatMap((o) =>
      (o['spec'] as { resources: { kind: string }[] }).resources.map((r) => r.kind),
    );
    expect(watched.sort()).toEqual(WATCHED_RESOURCES.map((r) => r.kind).sort());
    expect(JSON.stringify(restricted[0]?.['spec'])).toContain('"values":["shop"]');
    const ping = objects.find((o) => o.kind === 'PingSource');
    expect(ping?.['spec']).toMatchObject({ schedule: '* * * * *', contentType: 'application/json' });
  });

  it('renders each function ClusterRole from triggers/permissions.ts; only act may change workloads', async () => {
    const objects = await renderChart();
    const writes = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
    for (const fn of FUNCTION_NAMES) {
      const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === `kurative-${fn}`);
      expect(role?.['rules']).toEqual(PERMISSIONS[fn].map((r) => ({ ...r })));
      const rules = role?.['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
      const writesOutsideKurative = rules.filter(
        (r) =>
          r.verbs.some((v) => writes.has(v)) &&
          !r.apiGroups.includes('kurative.dev') &&
          !r.resources.includes('events'),
      );
      if (fn === 'act') expect(writesOutsideKurative.length).toBeGreaterThan(0);
      else expect(writesOutsideKurative, fn).toEqual([]);
      expect(rules.some((r) => r.verbs.includes('*') || r.resources.includes('*'))).toBe(false);
      expect(rules.some((r) => r.resources.includes('secrets'))).toBe(false);
    }
    // The ConfigMap store gets a Role in kurative's namespace only; Redis needs none.
    expect(objects.filter((o) => o.kind === 'Role')).toHaveLength(FUNCTION_NAMES.length);
    const redis = await renderChart(VARIANTS['redis']);
    expect(redis.filter((o) => o.kind === 'Role')).toHaveLength(0);
  });

  it('installs the CRDs from crds/ and the default RemediationPolicy in the chosen mode', async () => {
    const objects = await renderChart(['mode=enforce']);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    expect(crds.sort()).toEqual([
      'detectors.kurative.dev',
      'incidents.kurative.dev',
      'remediationpolicies.kurative.dev',
    ]);
    const policy = objects.find((o) => o.kind === 'RemediationPolicy');
    expect(RemediationPolicySpec.parse(policy?.['spec']).mode).toBe('enforce');
  });

  it.each([
    [['mode=yolo'], /mode/],
    [['store.type=redis'], /redis/],
    [['store.type=sqlite'], /store/],
    [['schedule=often'], /schedule/],
    [['functions.defaults.minScale=-1'], /minScale/],
    [['policy.spec.mode=enforce'], /policy/],
  ])('refuses bad values with a clear message: %s', async (set, message) => {
    const r = await helm(['template', 'kurative', CHART, ...set.flatMap((s) => ['--set', s])]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a bad values file, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kurative-values-'));
    const file = join(dir, 'values.yaml');
    writeFileSync(
      file,
      'mode: enforce\nstore:\n  type: redis\n  redis:\n    url: http://not-redis\nbroker:\n  create: true\n  name: Bad_Name\n',
    );
    const r = await helm(['install', 'kurative', CHART, '--dry-run=client', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/store\/redis\/url|store.redis.url/);
    expect(r.stderr).toMatch(/broker\/name|broker.name/);
  });

  it('NOTES.txt tells how to watch incidents with kubectl', async () => {
    const r = await helm(['install', 'kurative', CHART, '--dry-run=client', '--namespace', 'kurative']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kubectl get incidents -w/);
    expect(r.stdout).toMatch(/kurative\.dev\/approve=<action>/);
  });
});
