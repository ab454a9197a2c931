import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../sandbox/apiserver/types.js';
import { SandboxPrometheus } from '../sandbox/prometheus.js';
import { repoRoot, toolPath } from '../shared/tools/index.js';
import type { CloudEventV1 } from 'cloudevents';
import { DevBroker } from '../broker/index.js';
import type { FunctionName, Mode } from '../shared/contracts/index.js';
import { implementedFunctions } from '../functions/registry.js';
import { Sandbox } from '../sandbox/sandbox.js';
import type { Scenario } from '../sandbox/simulator/scenario.js';
import { createPingSource, KURATIVE_WATCHED_RESOURCES, startApiServerSource } from '../sandbox/sources.js';
import { ROUTES } from '../triggers/index.js';
import { parseConfig } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { createHttpHandler, serveInProcess } from '../shared/runtime/index.js';
import { FUNCTIONS } from '../functions/registry.js';
import { startFunctionProcess, type FunctionProcess } from './processes.js';

let inProcessCounter = 0;

/** A function the pipeline runs: its URL, how to stop it, and (for processes) its CPU time. */
export type RunningFunction = Pick<FunctionProcess, 'name' | 'url' | 'stop'> & {
  cpuMs?: () => number | undefined;
};

/** One function served by functions-framework in this process, with its real dependencies. */
async function startFunctionInProcess(
  name: FunctionName,
  env: Record<string, string>,
): Promise<RunningFunction> {
  const config = parseConfig({ ...env, FUNCTION_TARGET: name, LOG_LEVEL: 'silent' });
  const module = await FUNCTIONS[name]?.();
  if (!module) throw new Error(`function ${name} is not implemented`);
  const log = createLogger({ function: name }, config.logLevel);
  const deps = await module.createDeps(config, log);
  const server = await serveInProcess(
    `pipeline-${name}-${++inProcessCounter}`,
    createHttpHandler(module.definition, { config, deps, log }),
  );
  return { name, url: server.url, stop: () => server.close() };
}

export interface PipelineOptions {
  readonly scenario: Scenario;
  readonly dir: string;
  readonly mode: Mode;
  readonly seed?: number;
  /** Scrape schedule on the simulated clock (PingSource). */
  readonly scrapeEveryMs?: number;
  readonly onEvent?: (event: CloudEventV1<unknown>) => void;
  readonly onLog?: (fn: FunctionName, line: string) => void;
  readonly extraEnv?: Record<string, string>;
  /**
   * Serve the functions in this process (functions-framework's server, same handlers) instead of
   * one functions-framework process each: faster to start, for tests.
   */
  readonly inProcess?: boolean;
  /** Functions to run (default: every implemented one); `[]` runs the cluster without kurative. */
  readonly functions?: readonly FunctionName[];
  /**
   * Run each function as its own ServiceAccount with the Role the Helm chart renders (default), so
   * the sandbox's RBAC enforces least privilege on everything the system does; false = admin.
   */
  readonly serviceAccounts?: boolean;
  /** Install step run first (e.g. `kubectl apply` of the rendered chart); what it creates is kept. */
  readonly install?: (sandbox: Sandbox) => Promise<void>;
  /** RemediationPolicy objects to create before the run (e.g. examples/remediation-policy.yaml). */
  readonly policies?: readonly KubeObject[];
}

/** Apply every CRD under deploy/crds and the default Detectors under deploy/detectors. */
export function installKurative(sandbox: Sandbox): void {
  const apply = (dir: string) => {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        const o = doc.toJS() as KubeObject | null;
        if (o?.kind) createObject(sandbox, o);
      }
    }
  };
  apply(join(repoRoot, 'deploy', 'crds'));
  apply(join(repoRoot, 'deploy', 'detectors'));
}

/** Create an object in the sandbox unless it exists (as applying a manifest would). */
export function createObject(sandbox: Sandbox, o: KubeObject): void {
  const cluster = sandbox.simulator.cluster;
  const type = cluster.registry.findKind(o.apiVersion, o.kind);
  if (!type) throw new Error(`no resource serves ${o.apiVersion} ${o.kind}`);
  if (!cluster.tryGet(type, o.metadata.namespace, o.metadata.name)) cluster.create(type, o);
}

/** The example RemediationPolicy with its mode set: what an SRE turning kurative on would apply. */
export function examplePolicy(mode: Mode): KubeObject {
  const o = parseAllDocuments(
    readFileSync(join(repoRoot, 'examples', 'remediation-policy.yaml'), 'utf8'),
  )[0]?.toJS() as KubeObject & {
    spec: Record<string, unknown>;
  };
  o.spec['mode'] = mode;
  return o;
}

/** The release every sandbox run installs: name and namespace as `helm install kurative -n kurative`. */
export const RELEASE = { name: 'kurative', namespace: 'kurative' } as const;

let rbacYaml: string | undefined;

/** The chart's RBAC (helm template --show-only templates/rbac.yaml), as `helm install` would create it. */
export function renderedRbac(): KubeObject[] {
  // The chart does not change during a run: render it once per process, parse it per sandbox.
  rbacYaml ??= execFileSync(
    toolPath('helm'),
    [
      'template',
      RELEASE.name,
      join(repoRoot, 'deploy', 'helm', 'kurative'),
      '--namespace',
      RELEASE.namespace,
      '--show-only',
      'templates/rbac.yaml',
      '--set',
      'store.type=memory',
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  return parseAllDocuments(rbacYaml)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function installRbac(sandbox: Sandbox): void {
  createObject(sandbox, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE.namespace } });
  for (const o of renderedRbac()) createObject(sandbox, o);
}

/** A kubeconfig file that authenticates as the function's own ServiceAccount. */
function functionKubeconfig(sandbox: Sandbox, dir: string, fn: FunctionName): string {
  const path = join(dir, `kubeconfig-${fn}`);
  writeFileSync(path, sandbox.api.kubeconfigFor(RELEASE.namespace, `${RELEASE.name}-${fn}`));
  return path;
}

/**
 * The whole system on the sandbox: the simulated cluster behind its API server, the dev broker
 * with the routes from triggers/, every implemented function as a real functions-framework
 * process, and the ApiServerSource and PingSource feeding the broker.
 */
export class Pipeline {
  private stopSources: (() => void)[] = [];

  private constructor(
    readonly sandbox: Sandbox,
    readonly broker: DevBroker,
    readonly functions: RunningFunction[],
  ) {}

  static async start(options: PipelineOptions): Promise<Pipeline> {
    mkdirSync(options.dir, { recursive: true });
    const sandbox = await Sandbox.start({
      scenario: options.scenario,
      dir: options.dir,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    const broker = new DevBroker({
      routes: ROUTES,
      endpoints: {},
      retry: 3,
      backoffMs: 20,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
    const sink = await broker.listen();
    // What `helm install` puts in place: the CRDs and the default Detectors; and a Prometheus.
    await options.install?.(sandbox);
    installKurative(sandbox);
    if (options.serviceAccounts !== false) installRbac(sandbox);
    for (const p of options.policies ?? []) createObject(sandbox, p);
    const prometheus = new SandboxPrometheus(sandbox.simulator);
    const prometheusUrl = await prometheus.listen();
    // Its history (what query_range reads) is one snapshot per simulator tick.
    prometheus.record();
    sandbox.onTick(() => prometheus.record());
    const functions: RunningFunction[] = [];
    try {
      for (const name of options.functions ?? implementedFunctions()) {
        const env = {
          KUBECONFIG:
            options.serviceAccounts === false
              ? sandbox.kubeconfigPath
              : functionKubeconfig(sandbox, options.dir, name),
          K_SINK: sink,
          KURATIVE_MODE: options.mode,
          KURATIVE_PROMETHEUS_URL: prometheusUrl,
          LOG_LEVEL: 'info',
          ...options.extraEnv,
        };
        const fn = options.inProcess
          ? await startFunctionInProcess(name, env)
          : await startFunctionProcess(name, env, { onLine: (line) => options.onLog?.(name, line) });
        functions.push(fn);
        broker.setEndpoint(name, fn.url);
      }
    } catch (error) {
      await Promise.all(functions.map((f) => f.stop()));
      await sandbox.close();
      await broker.close();
      await prometheus.close();
      throw error;
    }
    const pipeline = new Pipeline(sandbox, broker, functions);
    pipeline.stopSources.push(() => void prometheus.close());
    // Without kurative (the baseline of the report) nothing subscribes: no sources either.
    if (functions.length === 0) return pipeline;
    const publish = (e: CloudEventV1<unknown>) => broker.publish(e);
    const ping = createPingSource({
      clock: sandbox.simulator.clock,
      everyMs: options.scrapeEveryMs ?? 60_000,
      source: '/apis/v1/namespaces/kurative/pingsources/kurative-scrape',
      publish,
    });
    pipeline.stopSources.push(sandbox.onTick(() => ping.onTick()));
    pipeline.stopSources.push(
      startApiServerSource({
        cluster: sandbox.simulator.cluster,
        resources: KURATIVE_WATCHED_RESOURCES,
        sourceUrl: sandbox.url,
        publish,
      }),
    );
    return pipeline;
  }

  /** Advance the cluster one tick and wait until every event it caused has been processed. */
  async step(): Promise<void> {
    this.sandbox.step();
    await this.broker.idle();
  }

  async close(): Promise<void> {
    for (const s of this.stopSources) s();
    await Promise.all(this.functions.map((f) => f.stop()));
    await this.broker.close();
    await this.sandbox.close();
  }
}
