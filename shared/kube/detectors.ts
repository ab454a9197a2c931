import { KURATIVE_GROUP, KURATIVE_VERSION } from '../contracts/index.js';
import { apiFailure, statusOf, type KubeClients } from './index.js';

/** A Detector resource as listed (spec unvalidated: callers parse it with the zod contract). */
export interface DetectorObject {
  metadata?: { name?: string; generation?: number };
  spec?: unknown;
  status?: {
    conditions?: { type: string; status: string; reason: string }[];
    backfill?: { observedGeneration?: number };
  };
}

/** Every Detector resource; none when the CRD is not installed (404). */
export async function listDetectors(kube: KubeClients): Promise<DetectorObject[]> {
  try {
    const list = (await kube.custom.listClusterCustomObject({
      group: KURATIVE_GROUP,
      version: KURATIVE_VERSION,
      plural: 'detectors',
    })) as { items?: DetectorObject[] };
    return list.items ?? [];
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw apiFailure('listing detectors', error);
  }
}
