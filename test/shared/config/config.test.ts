import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../shared/config/index.js';

describe('parseConfig', () => {
  it('defaults to observe mode, the kurative namespace and the in-memory store', () => {
    const config = parseConfig({});
    expect(config.mode).toBe('observe');
    expect(config.namespace).toBe('kurative');
    expect(config.store.type).toBe('memory');
    expect(config.sink.url).toBeUndefined();
    expect(config.maxEventBytes).toBe(256 * 1024);
    expect(config.backfill).toEqual({ windowMs: 86_400_000, maxSamples: 200_000 });
  });

  it('reads the warm start window as a duration, 0s turning it off', () => {
    expect(parseConfig({ KURATIVE_BACKFILL: '6h30m' }).backfill.windowMs).toBe(6.5 * 3_600_000);
    expect(parseConfig({ KURATIVE_BACKFILL: '0s' }).backfill.windowMs).toBe(0);
    expect(parseConfig({}).groupWaitMs).toBe(30_000);
    expect(parseConfig({ KURATIVE_GROUP_WAIT: '1m30s' }).groupWaitMs).toBe(90_000);
    expect(parseConfig({ KURATIVE_GROUP_WAIT: '0s' }).groupWaitMs).toBe(0);
  });

  it("reads rca's request-rate query, by default the per-Service sum of http_requests_per_second", () => {
    expect(parseConfig({}).demandQuery).toBe('sum by (namespace, service) (http_requests_per_second)');
    const rate = 'sum by (namespace, service) (rate(http_requests_total[5m]))';
    expect(parseConfig({ KURATIVE_DEMAND_QUERY: ` ${rate} ` }).demandQuery).toBe(rate);
  });

  it('parses every supported variable', () => {
    const config = parseConfig({
      FUNCTION_TARGET: 'rca',
      KURATIVE_MODE: 'enforce',
      KURATIVE_WATCH_NAMESPACES: 'shop, payments ,',
      KURATIVE_STORE: 'redis',
      KURATIVE_REDIS_URL: 'redis://127.0.0.1:6390/0',
      K_SINK: 'http://broker-ingress.knative-eventing.svc/kurative/default',
      K_CE_OVERRIDES: '{"extensions":{"cluster":"east"}}',
      KURATIVE_SINK_RETRIES: '7',
    });
    expect(config.functionTarget).toBe('rca');
    expect(config.mode).toBe('enforce');
    expect(config.watchNamespaces).toEqual(['shop', 'payments']);
    expect(config.store).toEqual({ type: 'redis', redisUrl: 'redis://127.0.0.1:6390/0' });
    expect(config.sink.overrides).toEqual({ cluster: 'east' });
    expect(config.sink.retries).toBe(7);
  });

  it.each([
    [{ KURATIVE_MODE: 'yolo' }, /KURATIVE_MODE/],
    [{ FUNCTION_TARGET: 'explode' }, /FUNCTION_TARGET/],
    [{ K_SINK: 'ftp://x' }, /K_SINK/],
    [{ KURATIVE_STORE: 'redis' }, /KURATIVE_REDIS_URL/],
    [{ KURATIVE_STORE: 'redis', KURATIVE_REDIS_URL: 'http://x' }, /KURATIVE_REDIS_URL/],
    [{ K_CE_OVERRIDES: 'not json' }, /K_CE_OVERRIDES/],
    [{ K_CE_OVERRIDES: '{"extensions":{"Bad-Name":"x"}}' }, /K_CE_OVERRIDES/],
    [{ KURATIVE_SINK_RETRIES: '-1' }, /KURATIVE_SINK_RETRIES/],
    [{ KURATIVE_WATCH_NAMESPACES: 'Shop' }, /KURATIVE_WATCH_NAMESPACES/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ KURATIVE_BACKFILL: 'a day' }, /KURATIVE_BACKFILL/],
    [{ KURATIVE_BACKFILL: '8d' }, /KURATIVE_BACKFILL/],
    [{ KURATIVE_GROUP_WAIT: 'soon' }, /KURATIVE_GROUP_WAIT/],
    [{ KURATIVE_GROUP_WAIT: '1h' }, /KURATIVE_GROUP_WAIT: at most 10m/],
    [{ KURATIVE_BACKFILL_MAX_SAMPLES: '10' }, /KURATIVE_BACKFILL_MAX_SAMPLES/],
    [{ KURATIVE_DEMAND_QUERY: '   ' }, /KURATIVE_DEMAND_QUERY/],
  ])('rejects %j naming the variable', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(name);
  });
});
