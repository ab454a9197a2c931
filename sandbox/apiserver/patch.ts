import fastJsonPatch from 'fast-json-patch';
import { badRequest, ApiError } from './errors.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON Merge Patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

/** RFC 6902 JSON Patch; a failing operation is a 422 like the real API server's. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw badRequest('json patch must be an array of operations');
  try {
    return fastJsonPatch.applyPatch(
      structuredClone(target),
      operations as fastJsonPatch.Operation[],
      true,
      false,
    ).newDocument;
  } catch (error) {
    throw new ApiError(
      422,
      `the server rejected our request due to an error in our request: ${(error as Error).message}`,
      'Invalid',
    );
  }
}

// Merge keys of the list fields kurative and kubectl patch (k8s.io/api struct tags `patchMergeKey`).
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  taints: 'key',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), for the fields that carry
 * merge keys above; other lists are replaced. Supports `$patch: replace|delete`, `$retainKeys`,
 * and ignores `$setElementOrder/` and `$deleteFromPrimitiveList/` directives.
 */
export function strategicMergePatch(target: Json, patch: Json, field = ''): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch['$patch'] === 'delete') return undefined;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  const retain = Array.isArray(patch['$retainKeys']) ? new Set(patch['$retainKeys'] as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete result[k];
      continue;
    }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && mergeKey && Array.isArray(result[k])) {
      result[k] = mergeList(result[k] as Json[], v, mergeKey, k);
    } else if (isObject(v)) {
      const merged = strategicMergePatch(result[k], v, k);
      if (merged === undefined) delete result[k];
      else result[k] = merged;
    } else {
      result[k] = structuredClone(v);
    }
  }
  if (retain) for (const k of Object.keys(result)) if (!retain.has(k)) delete result[k];
  void field;
  return result;
}

function mergeList(current: Json[], patch: Json[], mergeKey: string, field: string): Json[] {
  if (patch.some((p) => isObject(p) && p['$patch'] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p['$patch'] === 'replace')).map((p) => structuredClone(p));
  }
  const out = current.map((c) => structuredClone(c));
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(structuredClone(item));
      continue;
    }
    const key = item[mergeKey];
    const index = out.findIndex((c) => isObject(c) && c[mergeKey] === key);
    if (item['$patch'] === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMergePatch(out[index], item, field);
    else out.push(strategicMergePatch({}, item, field));
  }
  return out;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

/** The patch type named by a request's Content-Type. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]?.trim();
  switch (ct) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw new ApiError(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        'UnsupportedMediaType',
      );
  }
}
