// Entry point for functions-framework (`functions-framework --source dist/functions/main.js --target <name>`):
// the one place a function process reads its environment, builds its dependencies and registers its handler.
import { http } from '@google-cloud/functions-framework';
import { ConfigError, parseConfig } from '../shared/config/index.js';
import { createLogger } from '../shared/log/index.js';
import { createHttpHandler } from '../shared/runtime/index.js';
import { FUNCTIONS, implementedFunctions } from './registry.js';

let config;
try {
  config = parseConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
const target = config.functionTarget;
const load = target ? FUNCTIONS[target] : undefined;
if (!target || !load) {
  console.error(`FUNCTION_TARGET must name one of: ${implementedFunctions().join(', ')}`);
  process.exit(2);
}
const log = createLogger({ function: target }, config.logLevel);
const module = await load();
const deps = await module.createDeps(config, log);
http(
  target,
  createHttpHandler(module.definition, {
    config,
    deps,
    log,
    ...(module.ready ? { ready: () => module.ready?.(deps) ?? Promise.resolve(true) } : {}),
  }) as never,
);
log.info({ mode: config.mode }, 'registered');
