import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPORT_MODES } from '../../cli/report.js';
import { repoRoot } from '../../shared/tools/index.js';

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A scenario from sandbox/scenarios, shortened so the test stays quick. */
function shortened(name: string, duration: string): string {
  const s = parse(readFileSync(join(repoRoot, 'sandbox', 'scenarios', `${name}.yaml`), 'utf8')) as Record<
    string,
    unknown
  >;
  return stringify({ ...s, duration });
}

describe('npm start -- --headless --json <file> --scenarios <dir>', () => {
  it('runs every scenario of the directory in the three modes with function processes and writes the report', async () => {
    const build = await run('npm', ['run', 'build', '--silent'], 300_000);
    expect(build.code, build.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'kurative-start-'));
    writeFileSync(join(dir, 'bad-rollout.yaml'), shortened('bad-rollout', '40m'));
    writeFileSync(join(dir, 'traffic-spike.yaml'), shortened('traffic-spike', '30m'));
    const out = join(dir, 'report.json');
    const r = await run(
      process.execPath,
      ['dist/cli/start.js', '--headless', '--json', out, '--scenarios', dir, '--dir', join(dir, 'work')],
      600_000,
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    expect(last).toMatch(
      /^report: mttr_reduction=[\d.-]+ incident_reduction=[\d.-]+ utilisation_gain=[\d.-]+ false_actions=\d+$/,
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    for (const mode of REPORT_MODES)
      for (const field of [
        'criticalIncidents',
        'mttdSeconds',
        'mttrSeconds',
        'utilisation',
        'actions',
        'falseActions',
        'actionsBeyondPolicy',
        'mutatingRequestsInObserve',
        'invocations',
        'cpuMs',
      ])
        expect(report[mode], `${mode}.${field}`).toHaveProperty(field);
    expect(report['scenarios']).toEqual(['bad-rollout', 'traffic-spike']);
    expect(report['observe']?.['mutatingRequestsInObserve']).toBe(0);
    expect(report['enforce']?.['actions']).toBe(1);
    expect(report['enforce']?.['falseActions']).toBe(0);
    expect(Number(report['enforce']?.['cpuMs'])).toBeGreaterThan(0);
  }, 900_000);
});
