import { Cluster } from '../apiserver/cluster.js';
import { podIsReady } from '../apiserver/eviction.js';
import { mergePatch, strategicMergePatch } from '../apiserver/patch.js';
import { parseQuantity } from '../apiserver/quantity.js';
import type { KubeObject } from '../apiserver/types.js';
import { SimClock } from '../clock.js';
import {
  reconcileDaemonSets,
  reconcileDeployments,
  reconcileHpas,
  reconcileVolumeExpansion,
  reconcileReplicaSets,
  reconcileStatefulSets,
} from './controllers.js';
import { EventRecorder } from './events.js';
import { runKubelets, workloadOfPod } from './kubelet.js';
import { applyCpuContention, applyMemoryPressure, metricsObjects, runNodeLifecycle } from './nodes.js';
import { OutcomeTracker, type Outcome } from './outcomes.js';
import { seededRandom } from './random.js';
import { parseDuration, type Fault, type Scenario, type WorkloadSpec } from './scenario.js';
import { nodeAcceptsDaemonPod, podRequests, schedulePods } from './scheduler.js';
import {
  field,
  NO_CPU_HOG,
  volumeKey,
  workloadKey,
  type PodRuntime,
  type SimContext,
  type WorkloadRuntime,
} from './state.js';
import { computeSignals } from './traffic.js';

/** Annotation that declares the services a workload calls (read by RCA as dependency edges). */
export const DEPENDS_ON_ANNOTATION = 'kurative.dev/depends-on';

/** Simulated time the cluster runs before scenario time zero, so workloads start healthy. */
const WARM_UP_MS = 120_000;

/** An applied fault, for logs and the report. */
export interface AppliedFault {
  readonly at: string;
  readonly type: Fault['type'];
  readonly target: string;
}

/**
 * Deterministic cluster simulator: controllers, scheduler, kubelets, node lifecycle, HPA,
 * workload traffic and metrics, driven by an accelerated clock and a seeded PRNG.
 * The same scenario and seed always produce the same cluster history.
 */
export class Simulator {
  readonly clock: SimClock;
  readonly cluster: Cluster;
  readonly ctx: SimContext;
  readonly applied: AppliedFault[] = [];
  private start: number;
  private readonly tracker = new OutcomeTracker();
  private readonly hpaState = new Map<
    string,
    { at: number; recommendations: { at: number; value: number }[] }
  >();
  private pendingFaults: Fault[];
  private readonly tickMs: number;

  constructor(
    readonly scenario: Scenario,
    /** startAt: wall-clock start (epoch ms); by default the scenario's fixed start, so runs repeat exactly. */
    options: { seed?: number; startAt?: number } = {},
  ) {
    const random = seededRandom(options.seed ?? scenario.seed);
    this.clock = new SimClock(options.startAt ?? (scenario.start ? Date.parse(scenario.start) : undefined));
    this.start = this.clock.epochMs;
    this.tickMs = scenario.tick;
    this.cluster = new Cluster(() => this.clock.now(), random);
    this.ctx = {
      cluster: this.cluster,
      clock: this.clock,
      random,
      events: new EventRecorder(this.cluster),
      scenario,
      pods: new Map(),
      nodes: new Map(),
      workloads: new Map(),
      volumes: new Map(),
      rolloutProgress: new Map(),
      trafficMultiplier: 1,
      trafficUntil: 0,
      counters: { oomKills: 0, restarts: 0, evictions: 0, crashes: 0 },
    };
    this.cluster.metrics = (resource, namespace) => metricsObjects(this.ctx, resource, namespace);
    this.pendingFaults = [...scenario.faults].sort((a, b) => a.at - b.at);
    this.bootstrap();
    this.warmUp();
  }

  /** Let the cluster settle (pods scheduled, started, ready) before scenario time zero. */
  private warmUp(): void {
    for (let t = 0; t < WARM_UP_MS; t += this.tickMs) {
      this.clock.advance(this.tickMs);
      this.reconcile();
    }
    this.start = this.clock.epochMs;
    Object.assign(this.ctx.counters, { oomKills: 0, restarts: 0, evictions: 0, crashes: 0 });
  }

  /** Simulated wall-clock time (epoch ms) of scenario time zero. */
  get startMs(): number {
    return this.start;
  }

  /** Simulated milliseconds since the scenario started. */
  get elapsedMs(): number {
    return this.clock.epochMs - this.start;
  }

  get done(): boolean {
    return this.elapsedMs >= this.scenario.duration;
  }

  /** Advance one tick: faults due, controllers, scheduler, kubelets, nodes, traffic, outcomes. */
  step(): void {
    this.clock.advance(this.tickMs);
    while (this.pendingFaults[0] && this.pendingFaults[0].at <= this.elapsedMs) {
      const fault = this.pendingFaults.shift();
      if (fault) this.applyFault(fault);
    }
    this.reconcile();
    this.tracker.observe(this.ctx, this.tickMs, this.usage(), this.stalledRollouts());
  }

  /** Run controllers and kubelets once (also used after out-of-band writes). */
  reconcile(): void {
    const ctx = this.ctx;
    reconcileDeployments(ctx);
    reconcileReplicaSets(ctx);
    reconcileStatefulSets(ctx);
    reconcileDaemonSets(ctx, nodeAcceptsDaemonPod);
    reconcileHpas(ctx, (p) => this.podCpu(p), this.hpaState);
    reconcileVolumeExpansion(ctx);
    schedulePods(ctx);
    runKubelets(ctx, this.tickMs, (n) => ctx.nodes.get(n)?.up ?? false);
    runNodeLifecycle(ctx);
    const podsByWorkload = this.podsByWorkload();
    this.assignTraffic(podsByWorkload);
    applyCpuContention(ctx);
    applyMemoryPressure(ctx);
    computeSignals(ctx, podsByWorkload);
  }

  /** Run until the scenario's duration (or `untilMs` of simulated time) has passed. */
  runToEnd(untilMs = this.scenario.duration): void {
    while (this.elapsedMs < untilMs) this.step();
  }

  outcome(): Outcome {
    return this.tracker.result(this.ctx);
  }

  /** Pod log text (`kubectl logs`): the simulated process's last lines. */
  podLog(namespace: string, name: string): string {
    const rt = [...this.ctx.pods.values()].find((p) => p.namespace === namespace && p.name === name);
    if (!rt) return '';
    return rt.containers
      .map((c) =>
        c.lastTermination
          ? `${c.name}: terminated ${c.lastTermination.reason} (exit ${c.lastTermination.exitCode})\n`
          : `${c.name}: running, ${Math.round(c.memory / 2 ** 20)}Mi\n`,
      )
      .join('');
  }

  private podCpu(pod: KubeObject): number | undefined {
    const rt = this.ctx.pods.get(pod.metadata.uid ?? '');
    return rt ? rt.containers.reduce((s, c) => s + c.cpu, 0) : undefined;
  }

  private podsByWorkload(): Map<string, KubeObject[]> {
    const out = new Map<string, KubeObject[]>();
    for (const pod of this.cluster.store.scan('/pods')) {
      if (['Failed', 'Succeeded'].includes(field<string>(pod, 'status.phase') ?? '')) continue;
      const rt = this.ctx.pods.get(pod.metadata.uid ?? '');
      const key = rt?.workload ?? workloadOfPod(this.ctx, pod);
      if (!key) continue;
      out.set(key, [...(out.get(key) ?? []), pod]);
    }
    return out;
  }

  private assignTraffic(podsByWorkload: Map<string, KubeObject[]>): void {
    for (const [key, pods] of podsByWorkload) {
      const w = this.ctx.workloads.get(key);
      const ready = pods.filter(podIsReady);
      const perPod = w && ready.length ? w.signals.rps / ready.length : 0;
      for (const p of pods) {
        const rt = this.ctx.pods.get(p.metadata.uid ?? '');
        if (rt) rt.rps = podIsReady(p) ? perPod : 0;
      }
    }
  }

  /** Workloads whose Deployment reports ProgressDeadlineExceeded. */
  private stalledRollouts(): Set<string> {
    const out = new Set<string>();
    for (const d of this.cluster.store.scan('apps/deployments')) {
      const conditions = field<{ type: string; reason?: string }[]>(d, 'status.conditions') ?? [];
      if (conditions.some((x) => x.type === 'Progressing' && x.reason === 'ProgressDeadlineExceeded')) {
        out.add(workloadKey(d.metadata.namespace ?? 'default', d.metadata.name));
      }
    }
    return out;
  }

  private usage(): { cpuUsed: number; cpuRequested: number; memUsed: number; memRequested: number } {
    let cpuUsed = 0;
    let cpuRequested = 0;
    let memUsed = 0;
    let memRequested = 0;
    for (const pod of this.cluster.store.scan('/pods')) {
      const rt = this.ctx.pods.get(pod.metadata.uid ?? '');
      if (!rt?.node || rt.evicted) continue;
      const r = podRequests(pod);
      if (r.cpu <= 0 || r.memory <= 0) continue;
      cpuRequested += r.cpu;
      memRequested += r.memory;
      cpuUsed += rt.containers.reduce((s, c) => s + c.cpu, 0);
      memUsed += rt.containers.reduce((s, c) => s + c.memory, 0);
    }
    return { cpuUsed, cpuRequested, memUsed, memRequested };
  }

  private bootstrap(): void {
    const c = this.cluster;
    const s = this.scenario;
    const create = (o: KubeObject) =>
      c.create(c.registry.findKind(o.apiVersion, o.kind) ?? c.kind(o.apiVersion, o.kind), o);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const namespaces = new Set([...s.cluster.namespaces, ...s.workloads.map((w) => w.namespace)]);
    for (const ns of namespaces)
      if (!c.store.peek('/namespaces', undefined, ns))
        create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    let index = 0;
    for (const pool of s.cluster.nodePools) {
      for (let i = 1; i <= pool.count; i++) {
        const name = `${pool.prefix}-${i}`;
        index++;
        const now = this.clock
          .now()
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z');
        create({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            labels: {
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              'topology.kubernetes.io/zone': `zone-${(index % 3) + 1}`,
              ...pool.labels,
            },
          },
          spec: { taints: pool.taints },
          status: {
            capacity: {
              cpu: pool.cpu,
              memory: pool.memory,
              pods: String(pool.pods),
              'ephemeral-storage': pool.ephemeralStorage,
            },
            allocatable: {
              cpu: pool.cpu,
              memory: pool.memory,
              pods: String(pool.pods),
              'ephemeral-storage': pool.ephemeralStorage,
            },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'kubelet is posting ready status',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
              { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
              { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
              { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
            ],
            addresses: [
              { type: 'InternalIP', address: `10.0.${Math.floor(index / 250)}.${index % 250}` },
              { type: 'Hostname', address: name },
            ],
            nodeInfo: {
              kubeletVersion: 'v1.34.0',
              osImage: 'Debian GNU/Linux 12 (bookworm)',
              containerRuntimeVersion: 'containerd://2.0.0',
              kernelVersion: '6.1.0',
              architecture: 'amd64',
              operatingSystem: 'linux',
            },
          },
        });
        this.ctx.nodes.set(name, {
          name,
          up: true,
          downSince: undefined,
          notReadySince: undefined,
          lastHeartbeatWrite: this.clock.epochMs,
          cpuUsed: 0,
          memoryUsed: 0,
          memoryPressure: false,
          memoryRelievedSince: undefined,
          lastMemoryEviction: 0,
        });
      }
    }
    for (const o of s.cluster.objects) create(o as KubeObject);
    for (const w of s.workloads) this.createWorkload(w);
  }

  private createWorkload(w: WorkloadSpec): void {
    const c = this.cluster;
    const labels = { app: w.name, ...w.labels };
    const container: Record<string, unknown> = {
      name: 'app',
      image: w.image,
      ports: [{ containerPort: 8080, name: 'http' }],
      resources: {
        ...(w.requests ? { requests: w.requests } : {}),
        ...(w.limits ? { limits: w.limits } : {}),
      },
      env: w.env,
      readinessProbe: {
        httpGet: { path: '/ready', port: 8080 },
        initialDelaySeconds: w.behaviour.startupSeconds,
        periodSeconds: 5,
      },
      livenessProbe: {
        httpGet: { path: '/healthz', port: 8080 },
        initialDelaySeconds: 15,
        periodSeconds: 10,
      },
    };
    if (w.configMap) container['envFrom'] = [{ configMapRef: { name: w.configMap } }];
    if (w.volume) {
      container['volumeMounts'] = [{ name: 'data', mountPath: '/data' }];
      this.createVolume(w.namespace, w.volume);
    }
    const podSpec: Record<string, unknown> = {
      containers: [container],
      ...(w.volume
        ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: w.volume.claim } }] }
        : {}),
      ...(w.nodeSelector ? { nodeSelector: w.nodeSelector } : {}),
      ...(w.tolerations ? { tolerations: w.tolerations } : {}),
      ...(w.affinity ? { affinity: w.affinity } : {}),
    };
    const annotations: Record<string, string> = w.behaviour.dependsOn.length
      ? { [DEPENDS_ON_ANNOTATION]: w.behaviour.dependsOn.join(',') }
      : {};
    const kind = w.kind;
    c.create(c.kind('apps/v1', kind), {
      apiVersion: 'apps/v1',
      kind,
      metadata: { name: w.name, namespace: w.namespace, labels, annotations },
      spec: {
        ...(kind === 'DaemonSet' ? {} : { replicas: w.replicas }),
        selector: { matchLabels: { app: w.name } },
        template: { metadata: { labels, annotations }, spec: podSpec },
      },
    });
    c.create(c.kind('v1', 'Service'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: w.name, namespace: w.namespace, labels },
      spec: { selector: { app: w.name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    if (w.hpa) {
      c.create(c.kind('autoscaling/v2', 'HorizontalPodAutoscaler'), {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: w.name, namespace: w.namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind, name: w.name },
          minReplicas: w.hpa.min,
          maxReplicas: w.hpa.max,
          metrics: [
            {
              type: 'Resource',
              resource: {
                name: 'cpu',
                target: { type: 'Utilization', averageUtilization: w.hpa.cpuUtilization },
              },
            },
          ],
        },
      });
    }
    if (w.pdb) {
      c.create(c.kind('policy/v1', 'PodDisruptionBudget'), {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: w.name, namespace: w.namespace },
        spec: { ...w.pdb, selector: { matchLabels: { app: w.name } } },
      });
    }
    const runtime: WorkloadRuntime = {
      namespace: w.namespace,
      name: w.name,
      kind,
      behaviour: w.behaviour,
      signals: {
        rps: 0,
        errorRatio: 0,
        latencyMs: w.behaviour.latencyMs,
        readyReplicas: 0,
        desiredReplicas: w.replicas,
      },
      extraLatencyMs: 0,
      extraCpu: NO_CPU_HOG,
      leakPerSecond: 0,
      diskFillPerSecond: 0,
    };
    this.ctx.workloads.set(workloadKey(w.namespace, w.name), runtime);
  }

  /** A claim bound as soon as it exists (a provisioner with immediate binding), and its contents. */
  private createVolume(namespace: string, volume: NonNullable<WorkloadSpec['volume']>): void {
    const c = this.cluster;
    const spec = {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: volume.size } },
      storageClassName: volume.storageClass,
      volumeName: `pvc-${namespace}-${volume.claim}`,
    };
    c.create(c.kind('v1', 'PersistentVolumeClaim'), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: volume.claim, namespace },
      spec,
      status: { phase: 'Bound', accessModes: spec.accessModes, capacity: { storage: volume.size } },
    });
    this.ctx.volumes.set(volumeKey(namespace, volume.claim), {
      namespace,
      name: volume.claim,
      used: volume.used,
      writePerSecond: volume.writePerSecond,
      fillPerSecond: 0,
    });
  }

  /**
   * Inject a fault into the workload's current pods (scope "pods", the default, as LitmusChaos does:
   * a replaced pod is clean) or into the workload itself (scope "workload": every pod, new ones too).
   */
  private inject(
    fault: Fault,
    w: WorkloadRuntime | undefined,
    intoPod: (i: PodRuntime['injected']) => void,
    intoWorkload: () => unknown,
  ): void {
    if (!w) return;
    if (fault.params['scope'] === 'workload') {
      intoWorkload();
      return;
    }
    const key = workloadKey(w.namespace, w.name);
    // `pods: N` limits the injection to N of the workload's pods (by name order, so runs repeat).
    const limit = Number(fault.params['pods'] ?? Infinity);
    const targets = [...this.ctx.pods.values()]
      .filter((rt) => rt.workload === key)
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const rt of targets.slice(0, limit)) intoPod(rt.injected);
  }

  // eslint-disable-next-line complexity
  private applyFault(fault: Fault): void {
    const c = this.cluster;
    const t = fault.target;
    const w = t ? this.ctx.workloads.get(workloadKey(t.namespace ?? 'default', t.name)) : undefined;
    const rate = (name: string) => {
      const v = fault.params[name];
      const q = typeof v === 'number' ? v : (parseQuantity(String(v ?? '0')) ?? 0);
      const per = String(fault.params['per'] ?? 's');
      return q / (parseDuration(`1${per}`) / 1000);
    };
    const typeOf = (apiVersion: string, kind: string) =>
      c.registry.findKind(apiVersion, kind) ?? c.kind(apiVersion, kind);
    switch (fault.type) {
      case 'memory-leak':
        if (w) w.leakPerSecond = rate('rate');
        break;
      case 'cpu-hog': {
        // `over`: the demand grows linearly to `cores` over that long (a job whose work keeps growing).
        const over = fault.params['over'];
        const hog = {
          cores: Number(fault.params['cores'] ?? 1),
          since: this.clock.epochMs,
          overMs: over === undefined ? 0 : parseDuration(String(over)),
        };
        this.inject(
          fault,
          w,
          (i) => (i.cpu = hog),
          () => w && (w.extraCpu = hog),
        );
        break;
      }
      case 'network-latency':
        this.inject(
          fault,
          w,
          (i) => (i.latencyMs = Number(fault.params['ms'] ?? 500)),
          () => w && (w.extraLatencyMs = Number(fault.params['ms'] ?? 500)),
        );
        break;
      case 'disk-fill':
        this.inject(
          fault,
          w,
          (i) => (i.diskPerSecond = rate('rate')),
          () => w && (w.diskFillPerSecond = rate('rate')),
        );
        break;
      case 'volume-fill': {
        // Something starts writing to the claim's volume (logs, a runaway export, an unrotated WAL).
        const v = t && this.ctx.volumes.get(volumeKey(t.namespace ?? 'default', t.name));
        if (v) v.fillPerSecond = rate('rate');
        break;
      }
      case 'traffic':
        this.ctx.trafficMultiplier = Number(fault.params['multiplier'] ?? 2);
        this.ctx.trafficUntil = this.clock.epochMs + parseDuration(String(fault.params['for'] ?? '30m'));
        break;
      case 'node-failure':
        if (t) {
          const n = this.ctx.nodes.get(t.name);
          if (n) {
            n.up = false;
            n.downSince = this.clock.epochMs;
          }
        }
        break;
      case 'node-recover':
        if (t) {
          const n = this.ctx.nodes.get(t.name);
          if (n) {
            n.up = true;
            n.downSince = undefined;
          }
        }
        break;
      case 'rollout': {
        if (!t) break;
        const type = typeOf(t.apiVersion ?? 'apps/v1', t.kind);
        const current = c.get(type, t.namespace, t.name);
        const image = fault.params['image'];
        const template = structuredClone(field<Record<string, unknown>>(current, 'spec.template') ?? {});
        if (typeof image === 'string') {
          const containers = field<Record<string, unknown>[]>(template, 'spec.containers') ?? [];
          if (containers[0]) containers[0]['image'] = image;
        }
        const withImage: KubeObject = { ...current, spec: { ...(current['spec'] as object), template } };
        const patched = fault.patch ? (strategicMergePatch(withImage, fault.patch) as KubeObject) : withImage;
        c.update(type, patched);
        break;
      }
      case 'config-edit': {
        if (!t) break;
        const cmType = c.kind('v1', 'ConfigMap');
        const cm = c.get(cmType, t.namespace, t.name);
        c.update(cmType, mergePatch(cm, fault.patch ?? {}) as KubeObject);
        const restart = fault.params['restart'];
        if (typeof restart === 'string') {
          // `kubectl rollout restart`: a template annotation change starts a new rollout.
          const dType = c.kind('apps/v1', 'Deployment');
          const d = c.get(dType, t.namespace, restart);
          const restarted = mergePatch(d, {
            spec: {
              template: {
                metadata: {
                  annotations: { 'kubectl.kubernetes.io/restartedAt': this.clock.now().toISOString() },
                },
              },
            },
          }) as KubeObject;
          c.update(dType, restarted);
        }
        break;
      }
      case 'patch': {
        if (!t) break;
        const type = typeOf(t.apiVersion ?? 'v1', t.kind);
        const current = c.get(type, t.namespace, t.name);
        c.update(type, strategicMergePatch(current, fault.patch ?? {}) as KubeObject);
        break;
      }
      case 'delete-pod': {
        if (!w) break;
        const key = workloadKey(w.namespace, w.name);
        const victims = [...this.ctx.pods.values()]
          .filter((rt) => rt.workload === key)
          .sort((a, b) => a.name.localeCompare(b.name))
          .slice(0, Number(fault.params['pods'] ?? 1));
        for (const v of victims) c.delete(c.kind('v1', 'Pod'), v.namespace, v.name);
        break;
      }
      case 'delete':
        if (t) c.delete(typeOf(t.apiVersion ?? 'v1', t.kind), t.namespace, t.name);
        break;
      case 'create':
        if (fault.object) {
          const o = fault.object as KubeObject;
          c.create(typeOf(o.apiVersion, o.kind), o);
        }
        break;
    }
    this.applied.push({
      at: this.clock.now().toISOString(),
      type: fault.type,
      target: t ? `${t.kind}/${t.namespace ? `${t.namespace}/` : ''}${t.name}` : '',
    });
  }
}
