import * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import { KurativeError, unavailable } from '../runtime/errors.js';

/** The Kubernetes clients a function uses, built once per process. */
export interface KubeClients {
  readonly kubeConfig: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly networking: k8s.NetworkingV1Api;
  readonly metrics: k8s.Metrics;
}

/** Load the kubeconfig named by KUBECONFIG, or the in-cluster service account when unset. */
export function loadKubeConfig(config: Pick<Config, 'kubeconfig'>): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

export function createKubeClients(kubeConfig: k8s.KubeConfig): KubeClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
    custom: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
    networking: kubeConfig.makeApiClient(k8s.NetworkingV1Api),
    metrics: new k8s.Metrics(kubeConfig),
  };
}

/** HTTP status of a client-node ApiException (or undefined for network errors). */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * What the API server said about a refused call: the Status body's message (client-node's own
 * message is only "HTTP-Code: 403"), else the error's first line.
 */
export function apiReason(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const message = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof message === 'string' && message) return message;
    } catch {
      /* not a Status */
    }
  }
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/**
 * Wrap a failed API call in the runtime's error type: 429/5xx/network → 503 (the broker retries),
 * other statuses keep theirs. The original error stays as `cause`.
 */
export function apiFailure(what: string, error: unknown): KurativeError {
  const status = statusOf(error);
  // The API server's own words ("configmaps \"x\" is forbidden: …"), not client-node's "HTTP-Code: 403".
  const detail = apiReason(error);
  if (status === undefined || status >= 500 || status === 429)
    return unavailable(`${what}: ${detail}`, { cause: error });
  return new KurativeError(500, 'ApiError', `${what} (status ${status}): ${detail}`, { cause: error });
}
