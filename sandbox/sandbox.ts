import { mkdirSync } from 'node:fs';
import { startApiServer, type RunningApiServer } from './server-bootstrap.js';
import type { Scenario } from './simulator/scenario.js';
import { Simulator } from './simulator/simulator.js';

export interface SandboxOptions {
  readonly scenario: Scenario;
  readonly seed?: number;
  /** Directory for the kubeconfig and other files. */
  readonly dir: string;
  readonly port?: number;
  /** Start the simulated clock at this wall-clock instant (interactive runs) instead of the fixed default. */
  readonly startAt?: number;
}

/** A running sandbox: the simulator behind a real HTTPS Kubernetes API. */
export class Sandbox {
  private timer: NodeJS.Timeout | undefined;
  private readonly tickListeners = new Set<() => void>();

  private constructor(
    readonly simulator: Simulator,
    readonly api: RunningApiServer,
  ) {}

  static async start(options: SandboxOptions): Promise<Sandbox> {
    mkdirSync(options.dir, { recursive: true });
    const simulator = new Simulator(options.scenario, {
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.startAt === undefined ? {} : { startAt: options.startAt }),
    });
    const api = await startApiServer({
      dir: options.dir,
      cluster: simulator.cluster,
      ...(options.port === undefined ? {} : { port: options.port }),
      podLogs: (ns, name) => simulator.podLog(ns, name),
    });
    return new Sandbox(simulator, api);
  }

  get kubeconfigPath(): string {
    return this.api.kubeconfigPath;
  }

  get url(): string {
    return this.api.url;
  }

  /** Advance one simulator tick and notify listeners (event sources, live view). */
  step(): void {
    this.simulator.step();
    for (const l of this.tickListeners) l();
  }

  onTick(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  /** Tick in real time: `speed` simulated seconds per wall-clock second. */
  run(speed: number): void {
    this.stop();
    const interval = Math.max(5, this.simulator.scenario.tick / speed);
    this.timer = setInterval(() => this.step(), interval);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await this.api.close();
  }
}
