import { parseConfig, type Config } from '../../shared/config/index.js';
import { createLogger } from '../../shared/log/index.js';
import type { EventType } from '../../shared/contracts/index.js';
import {
  createHttpHandler,
  defineFunction,
  serveInProcess,
  type FetchLike,
  type FunctionDefinition,
  type HandlerResult,
  type InboundEvent,
  type RunningServer,
} from '../../shared/runtime/index.js';

let counter = 0;

export const silentLog = createLogger({ function: 'test' }, 'silent');

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ KURATIVE_SINK_RETRIES: '2', ...env });
}

/** Serve a definition through the real functions-framework server, in-process. */
export async function serveDefinition<T extends EventType>(
  definition: FunctionDefinition<unknown, T>,
  options: { env?: Record<string, string>; fetch?: FetchLike } = {},
): Promise<RunningServer> {
  const handler = createHttpHandler(definition, {
    config: testConfig(options.env),
    deps: undefined,
    log: silentLog,
    fetch: options.fetch,
    sleep: async () => {},
  });
  return serveInProcess(`test-${definition.name}-${++counter}`, handler);
}

/** A function that records what it received and answers with `reply`. */
export function recordingFunction<T extends EventType>(
  accepts: readonly T[],
  reply: (event: InboundEvent) => HandlerResult = () => undefined,
) {
  const received: InboundEvent[] = [];
  const definition = defineFunction<unknown, T>({
    name: 'score',
    accepts,
    handle: async (event) => {
      received.push(event);
      return reply(event);
    },
  });
  return { definition, received };
}
