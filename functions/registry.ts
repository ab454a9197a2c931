import type { Config } from '../shared/config/index.js';
import type { EventType, FunctionName } from '../shared/contracts/index.js';
import type { Logger } from '../shared/log/index.js';
import type { FunctionDefinition } from '../shared/runtime/index.js';

/** What each function folder exports: its definition and how to build its real dependencies. */
export interface FunctionModule<D = unknown> {
  readonly definition: FunctionDefinition<D, EventType>;
  createDeps(config: Config, log: Logger): Promise<D>;
  /** Resolves true when the function's dependencies answer (readiness probe). */
  ready?(deps: D): Promise<boolean>;
}

/** The functions this build serves, loaded lazily so a process only loads its own target. */
export const FUNCTIONS: Partial<Record<FunctionName, () => Promise<FunctionModule>>> = {
  scrape: async () => (await import('./scrape/index.js')) as unknown as FunctionModule,
  score: async () => (await import('./score/index.js')) as unknown as FunctionModule,
  rca: async () => (await import('./rca/index.js')) as unknown as FunctionModule,
  policy: async () => (await import('./policy/index.js')) as unknown as FunctionModule,
  act: async () => (await import('./act/index.js')) as unknown as FunctionModule,
};

export function implementedFunctions(): FunctionName[] {
  return Object.keys(FUNCTIONS) as FunctionName[];
}
