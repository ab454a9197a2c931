import type { SimContext } from './state.js';

/** Error ratio above which a workload's users are hurt (counts as error time). */
export const ERROR_THRESHOLD = 0.05;
/** Error ratio above which a workload counts as critically failing (an outage in all but name). */
export const CRITICAL_ERROR_THRESHOLD = 0.25;
/**
 * A workload critical again within this long of recovering is the same incident (a crash loop, an
 * error ratio hovering at the threshold), as an on-call engineer would count pages grouped the
 * way Alertmanager's default group_interval groups them.
 */
export const FLAP_MS = 5 * 60_000;

export interface WorkloadOutcome {
  downtimeSeconds: number;
  degradedSeconds: number;
  stalledRolloutSeconds: number;
  errorSeconds: number;
  criticalSeconds: number;
  criticalIncidents: number;
  firstCriticalAt: string | undefined;
  lastCriticalEndAt: string | undefined;
}

/** What a scenario did to the cluster, measured the same way with or without remediation. */
export interface Outcome {
  simulatedSeconds: number;
  oomKills: number;
  restarts: number;
  crashes: number;
  evictions: number;
  downtimeSeconds: number;
  /** Seconds summed over workloads with fewer ready replicas than desired (stalled rollouts, lost capacity). */
  degradedSeconds: number;
  /** Seconds summed over Deployments whose rollout passed its progress deadline (ProgressDeadlineExceeded). */
  stalledRolloutSeconds: number;
  errorSeconds: number;
  criticalSeconds: number;
  criticalIncidents: number;
  /** CPU used / CPU requested, averaged over ticks (pods with requests). */
  cpuUtilisation: number;
  memoryUtilisation: number;
  firstFailureAt: string | undefined;
  /**
   * When users were first hurt (any workload down, erroring above ERROR_THRESHOLD, short of ready
   * replicas or with a stalled rollout) and when the last such stretch ended (undefined while it
   * lasts at the end): the span a time to recover is measured on.
   */
  firstImpairedAt: string | undefined;
  lastImpairedEndAt: string | undefined;
  impairedSeconds: number;
  workloads: Record<string, WorkloadOutcome>;
}

export class OutcomeTracker {
  private seconds = 0;
  private cpuRatioSum = 0;
  private memRatioSum = 0;
  private ratioTicks = 0;
  private firstFailureAt: number | undefined;
  private firstImpairedAt: number | undefined;
  private lastImpairedEndAt: number | undefined;
  private impaired = false;
  private impairedSeconds = 0;
  private lastCounters = { oomKills: 0, crashes: 0, evictions: 0 };
  private readonly workloads = new Map<string, WorkloadOutcome & { inCritical: boolean }>();

  /** Account one tick of dtMs (after the simulator has stepped). */
  observe(
    ctx: SimContext,
    dtMs: number,
    usage: { cpuUsed: number; cpuRequested: number; memUsed: number; memRequested: number },
    stalled: ReadonlySet<string> = new Set(),
  ): void {
    const dt = dtMs / 1000;
    const now = ctx.clock.epochMs;
    this.seconds += dt;
    if (usage.cpuRequested > 0 && usage.memRequested > 0) {
      this.cpuRatioSum += usage.cpuUsed / usage.cpuRequested;
      this.memRatioSum += usage.memUsed / usage.memRequested;
      this.ratioTicks++;
    }
    const c = ctx.counters;
    if (
      this.firstFailureAt === undefined &&
      (c.oomKills > this.lastCounters.oomKills ||
        c.crashes > this.lastCounters.crashes ||
        c.evictions > this.lastCounters.evictions)
    ) {
      this.firstFailureAt = now;
    }
    this.lastCounters = { oomKills: c.oomKills, crashes: c.crashes, evictions: c.evictions };
    let impaired = false;
    for (const [key, w] of ctx.workloads)
      if (this.account(key, w.signals, dt, now, stalled.has(key))) impaired = true;
    if (impaired) {
      this.impairedSeconds += dt;
      this.firstImpairedAt ??= now;
      this.lastImpairedEndAt = undefined;
    } else if (this.impaired) this.lastImpairedEndAt = now;
    this.impaired = impaired;
  }

  /** Account one workload for one tick; true when its users are hurt (impaired). */
  private account(
    key: string,
    s: { desiredReplicas: number; readyReplicas: number; errorRatio: number },
    dt: number,
    now: number,
    stalledNow: boolean,
  ): boolean {
    const o = this.workloads.get(key) ?? {
      downtimeSeconds: 0,
      degradedSeconds: 0,
      stalledRolloutSeconds: 0,
      errorSeconds: 0,
      criticalSeconds: 0,
      criticalIncidents: 0,
      firstCriticalAt: undefined,
      lastCriticalEndAt: undefined,
      inCritical: false,
    };
    const down = s.desiredReplicas > 0 && s.readyReplicas === 0;
    if (down) o.downtimeSeconds += dt;
    if (s.readyReplicas < s.desiredReplicas) o.degradedSeconds += dt;
    if (stalledNow) o.stalledRolloutSeconds += dt;
    if (s.errorRatio > ERROR_THRESHOLD) o.errorSeconds += dt;
    const critical = down || s.errorRatio > CRITICAL_ERROR_THRESHOLD;
    if (critical) {
      o.criticalSeconds += dt;
      const flapping = o.lastCriticalEndAt !== undefined && now - Date.parse(o.lastCriticalEndAt) <= FLAP_MS;
      if (!o.inCritical && !flapping) o.criticalIncidents++;
      if (!o.inCritical) {
        o.firstCriticalAt ??= new Date(now).toISOString();
        this.firstFailureAt ??= now;
      }
    } else if (o.inCritical) o.lastCriticalEndAt = new Date(now).toISOString();
    o.inCritical = critical;
    this.workloads.set(key, o);
    return down || s.readyReplicas < s.desiredReplicas || stalledNow || s.errorRatio > ERROR_THRESHOLD;
  }

  result(ctx: SimContext): Outcome {
    const workloads: Record<string, WorkloadOutcome> = {};
    let downtime = 0;
    let degraded = 0;
    let stalledSeconds = 0;
    let errors = 0;
    let critical = 0;
    let incidents = 0;
    for (const [key, { inCritical: _ignored, ...o }] of this.workloads) {
      workloads[key] = o;
      downtime += o.downtimeSeconds;
      degraded += o.degradedSeconds;
      stalledSeconds += o.stalledRolloutSeconds;
      errors += o.errorSeconds;
      critical += o.criticalSeconds;
      incidents += o.criticalIncidents;
    }
    return {
      simulatedSeconds: this.seconds,
      oomKills: ctx.counters.oomKills,
      restarts: ctx.counters.restarts,
      crashes: ctx.counters.crashes,
      evictions: ctx.counters.evictions,
      downtimeSeconds: downtime,
      degradedSeconds: degraded,
      stalledRolloutSeconds: stalledSeconds,
      errorSeconds: errors,
      criticalSeconds: critical,
      criticalIncidents: incidents,
      cpuUtilisation: this.ratioTicks ? this.cpuRatioSum / this.ratioTicks : 0,
      memoryUtilisation: this.ratioTicks ? this.memRatioSum / this.ratioTicks : 0,
      firstFailureAt:
        this.firstFailureAt === undefined ? undefined : new Date(this.firstFailureAt).toISOString(),
      firstImpairedAt:
        this.firstImpairedAt === undefined ? undefined : new Date(this.firstImpairedAt).toISOString(),
      lastImpairedEndAt:
        this.lastImpairedEndAt === undefined ? undefined : new Date(this.lastImpairedEndAt).toISOString(),
      impairedSeconds: this.impairedSeconds,
      workloads,
    };
  }
}
