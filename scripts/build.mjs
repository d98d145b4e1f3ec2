// Builds the extension bundle (esbuild, `vscode` external) and, with --tests, compiles src, test
// and bench with tsc into out/ for the mocha suites.
//   node scripts/build.mjs [--production] [--watch] [--tests]
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

if (args.has('--tests')) {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'test/tsconfig.json')], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const esbuild = await import('esbuild');
const production = args.has('--production');
const options = {
  entryPoints: [join(root, 'src/extension.ts')],
  outfile: join(root, 'dist/extension.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'cpu-features', 'sshcrypto.node'],
  sourcemap: production ? false : 'linked',
  minify: production,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
};

if (args.has('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log('[build] watching src/ …');
} else {
  const started = Date.now();
  await esbuild.build(options);
  const size = statSync(options.outfile).size;
  console.log(`[build] dist/extension.js ${(size / 1024).toFixed(0)} KB in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
}
