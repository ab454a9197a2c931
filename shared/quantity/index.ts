// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): "100m", "1.5", "128Mi", "2G", "1e3".
const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$/;

/** Parse a quantity to a plain number (cores for CPU, bytes for memory); undefined if malformed. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** Format CPU cores the way metrics-server does (millicores, or nanocores below 1m). */
export function formatCpu(cores: number): string {
  if (cores > 0 && cores < 0.001) return `${Math.round(cores * 1e9)}n`;
  return `${Math.round(cores * 1000)}m`;
}

/** Format bytes as Ki (metrics-server style) — always exact enough for display and parsing. */
export function formatMemory(bytes: number): string {
  return `${Math.round(bytes / 1024)}Ki`;
}

/** A CPU or memory amount as a human writes it in a manifest: whole MiB, whole millicores. */
export function formatQuantity(resource: string, value: number): string {
  // Storage in whole GiB when it is (volume sizes are), else MiB like memory.
  if (resource === 'storage' && value > 0 && value % 2 ** 30 === 0) return `${value / 2 ** 30}Gi`;
  return resource === 'memory' || resource === 'storage'
    ? `${Math.round(value / 2 ** 20)}Mi`
    : `${Math.round(value * 1000)}m`;
}

/**
 * A container (or a node) using at least this share of its limit is at it: throttled, for CPU, or
 * about to be OOM-killed, for memory.
 */
export const NEAR_LIMIT = 0.9;

/**
 * Usage within what was reserved: at or below the request (there must be one) and short of
 * NEAR_LIMIT of the limit (a container whose request is its limit, Guaranteed QoS, still runs
 * into it).
 */
export const withinReservation = (usage: {
  value: number;
  request?: number | undefined;
  limit?: number | undefined;
}): boolean =>
  usage.request !== undefined &&
  usage.value <= usage.request &&
  !(usage.limit !== undefined && usage.value >= NEAR_LIMIT * usage.limit);
