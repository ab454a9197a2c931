import * as k8s from '@kubernetes/client-node';
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

/**
 * Merge-patch a Detector's status (a list in it, such as conditions, is replaced whole; other
 * fields are left as they are). Throws what the API server answered.
 */
export async function patchDetectorStatus(
  kube: KubeClients,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await kube.custom.patchClusterCustomObjectStatus(
    { group: KURATIVE_GROUP, version: KURATIVE_VERSION, plural: 'detectors', name, body: { status } },
    // Merge patch: custom resources do not take strategic merge patches.
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}
