import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface NabFile {
  /** `<category>/<name>.csv`, the key NAB's label files use. */
  readonly key: string;
  readonly category: string;
  readonly name: string;
  readonly timestamps: string[];
  readonly epochMs: number[];
  readonly values: number[];
  /** Label windows as inclusive row ranges. */
  readonly windows: [number, number][];
}

/** NAB timestamps: "YYYY-MM-DD HH:MM:SS[.ffffff]"; windows carry microseconds, rows do not. */
function normalise(ts: string): string {
  return ts.trim().replace(/\.\d+$/, '');
}

function listCsv(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listCsv(path));
    else if (entry.endsWith('.csv')) out.push(path);
  }
  return out.sort();
}

/** Load every `<category>/<file>.csv` under `dataDir` with its windows from a NAB windows JSON. */
export function loadCorpus(dataDir: string, windowsPath: string): NabFile[] {
  const labels = JSON.parse(readFileSync(windowsPath, 'utf8')) as Record<string, [string, string][]>;
  return listCsv(dataDir).map((path) => {
    const key = relative(dataDir, path).split(sep).join('/');
    const [category = '', name = ''] = key.split('/');
    const lines = readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    const header = lines.shift() ?? '';
    if (!/^timestamp,value$/i.test(header.trim()))
      throw new Error(`${key}: expected header "timestamp,value", got ${JSON.stringify(header)}`);
    const timestamps: string[] = [];
    const values: number[] = [];
    for (const line of lines) {
      const comma = line.indexOf(',');
      timestamps.push(normalise(line.slice(0, comma)));
      values.push(Number(line.slice(comma + 1)));
    }
    const index = new Map(timestamps.map((t, i) => [t, i]));
    const windows = (labels[key] ?? []).map(([start, end]): [number, number] => {
      const a = index.get(normalise(start));
      const b = index.get(normalise(end));
      if (a === undefined || b === undefined)
        throw new Error(`${key}: window ${start}..${end} does not match rows`);
      return [a, b];
    });
    const epochMs = timestamps.map((t) => Date.parse(`${t.replace(' ', 'T')}Z`));
    return { key, category, name, timestamps, epochMs, values, windows };
  });
}
