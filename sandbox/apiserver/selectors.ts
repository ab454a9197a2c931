import { asText, type KubeObject } from './types.js';

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; values: [string] };

/** A parsed label selector (string form, as in `?labelSelector=`). */
export type LabelSelector = readonly Requirement[];

export class SelectorError extends Error {}

/** Parse `a=b,c!=d,e in (f,g),!h,i` (k8s.io/apimachinery/pkg/labels grammar). */
export function parseLabelSelector(text: string): LabelSelector {
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const p = part.trim();
    if (p === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      out.push({
        key: m[1] ?? '',
        op: m[2] as 'in' | 'notin',
        values: (m[3] ?? '').split(',').map((v) => v.trim()),
      });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      out.push({ key: m[1] ?? '', op: m[2] === '!=' ? '!=' : '=', values: [m[3] ?? ''] });
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      out.push({ key: m[1] ?? '', op: '!exists' });
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      out.push({ key: m[1] ?? '', op: 'exists' });
    } else {
      throw new SelectorError(`unable to parse requirement: ${JSON.stringify(p)}`);
    }
  }
  return out;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function matchesLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return v === r.values[0];
      case '!=':
        return v !== r.values[0];
      case 'in':
        return has && r.values.includes(v ?? '');
      case 'notin':
        return !has || !r.values.includes(v ?? '');
    }
  });
}

/** metav1.LabelSelector (matchLabels + matchExpressions) as an object. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selectorFromObject(sel: LabelSelectorObject | undefined): LabelSelector {
  if (!sel) return [];
  const out: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({
    key,
    op: '=',
    values: [v],
  }));
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') out.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') out.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') out.push({ key: e.key, op: '!exists' });
    else throw new SelectorError(`unknown operator ${e.operator}`);
  }
  return out;
}

/** Render a selector object as the string form (`a=b,c in (d)`), as Scale.status.selector carries it. */
export function selectorToString(sel: LabelSelectorObject | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'exists') parts.push(e.key);
    else if (op === 'doesnotexist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

type FieldRequirement = { path: string; negate: boolean; value: string };
export type FieldSelector = readonly FieldRequirement[];

/** Parse `spec.nodeName=n1,involvedObject.uid=x,status.phase!=Running`. */
export function parseFieldSelector(text: string): FieldSelector {
  const out: FieldRequirement[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(p);
    if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(p)}`);
    out.push({ path: m[1] ?? '', negate: m[2] === '!=', value: m[3] ?? '' });
  }
  return out;
}

export function matchesFields(selector: FieldSelector, object: KubeObject): boolean {
  return selector.every((r) => {
    let v: unknown = object;
    for (const key of r.path.split('.'))
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    const s = asText(v);
    return r.negate ? s !== r.value : s === r.value;
  });
}
