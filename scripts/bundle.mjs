// Bundles the function entry into one ESM file: one file to read instead of ~1 500 modules, which
// cuts a function's cold start (see bench/coldstart.ts). functions-framework stays external: its CLI
// and the bundle must share one function registry.
// `node scripts/bundle.mjs [entry outfile]` bundles another entry the same way (bench:score runs
// its batch process from such a bundle, as the function image would).
import { build } from 'esbuild';

const [entry = 'dist/functions/main.js', outfile = 'dist/bundle/main.mjs'] = process.argv.slice(2);

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  external: ['@google-cloud/functions-framework'],
  banner: {
    js: "import { createRequire as __kurativeRequire } from 'node:module'; const require = __kurativeRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
