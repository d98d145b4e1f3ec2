// Builds the extension bundle (esbuild, `vscode` external) and, with --tests, compiles src, test
// and bench with tsc into out/ for the mocha suites.
//   node scripts/build.mjs [--production] [--watch] [--tests]
import { spawnSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

if (args.has('--tests')) {
  // Compiled files of renamed or deleted sources would otherwise still run as tests.
  for (const dir of ['src', 'test', 'bench']) rmSync(join(root, 'out', dir), { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'test/tsconfig.json')], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const esbuild = await import('esbuild');

// zod re-exports all of its ~40 message locales (a quarter of the bundle); the extension speaks
// English only, so the locale index resolves to English alone; z.fromJSONSchema is left out too.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'zod')}`) ? { path: 'zod-locales', namespace: 'zod-english-only' } : undefined,
    );
    build.onLoad({ filter: /^zod-locales$/, namespace: 'zod-english-only' }, () => ({
      contents: `export { default as en } from ${JSON.stringify(join(root, 'node_modules/zod/v4/locales/en.js'))};`,
      resolveDir: root,
    }));
    // z.fromJSONSchema (12 KB) is never called: the extension only turns its schemas into JSON Schema.
    build.onResolve({ filter: /^\.\/from-json-schema\.js$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'zod')}`) ? { path: 'zod-from-json-schema', namespace: 'zod-english-only' } : undefined,
    );
    build.onLoad({ filter: /^zod-from-json-schema$/, namespace: 'zod-english-only' }, () => ({
      contents: 'export function fromJSONSchema() { throw new Error("z.fromJSONSchema is left out of this bundle"); }',
    }));
  },
};
const production = args.has('--production');
// dockerode's BuildKit helpers load .proto files from their own folder at run time, which a bundle
// cannot provide, and pull in gRPC (400 KB). The engine builds images with the classic builder, so
// they are replaced by modules that say so if ever called.
const dockerodeWithoutBuildKit = {
  name: 'dockerode-without-buildkit',
  setup(build) {
    build.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) =>
      args.importer.includes(join('node_modules', 'dockerode')) ? { path: args.path, namespace: 'no-buildkit' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'no-buildkit' }, () => ({
      contents: `const unavailable = () => { throw new Error('BuildKit builds are not available in this extension; use the classic builder.'); };
module.exports = unavailable; module.exports.followProgress = unavailable;`,
    }));
  },
};

// docker-modem loads ssh2 (270 KB, slow to evaluate) at start-up for ssh:// Docker hosts only;
// deferring the require to the first SSH connection takes it off the activation path.
const lazySsh2 = {
  name: 'lazy-ssh2',
  setup(build) {
    build.onLoad({ filter: /docker-modem[\\/]lib[\\/]ssh\.js$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(args.path, 'utf8');
      const eager = "var Client = require('ssh2').Client,";
      if (!source.includes(eager)) return undefined; // a new docker-modem: bundle it as it is
      return {
        contents: source.replace(eager, 'var').replace('var conn = new Client();', "var conn = new (require('ssh2').Client)();"),
        loader: 'js',
      };
    });
  },
};

// Packages only some users need are bundles of their own, loaded on first use (a require inside a
// function): the AWS SDK's S3 client for an S3 store (src/storage/s3Sdk.ts) and ssh2 for an
// ssh:// Docker host. The main bundle refers to them as ./aws-s3.js and ./ssh2.js beside it.
const LAZY_PACKAGES = { '@aws-sdk/client-s3': 'aws-s3', ssh2: 'ssh2' };
const lazyPackages = {
  name: 'lazy-packages',
  setup(build) {
    build.onResolve({ filter: /^(@aws-sdk\/client-s3|ssh2)$/ }, (args) => ({ path: `./${LAZY_PACKAGES[args.path]}.js`, external: true }));
  },
};

// Userland copies of Node's own modules that dockerode's dependencies carry, replaced by what they
// copy (everyone here reads readable-stream's classes as properties, so an object of Node's own does), and `debug`,
// whose output nobody here enables, by a silent one: about 50 KB less to evaluate at activation.
const nodeBuiltins = {
  name: 'node-builtins',
  setup(build) {
    const shims = {
      'readable-stream': "const S = require('stream'); module.exports = { Readable: S.Readable, Writable: S.Writable, Duplex: S.Duplex, Transform: S.Transform, PassThrough: S.PassThrough, Stream: S, finished: S.finished, pipeline: S.pipeline };",
      string_decoder: "module.exports = require('string_decoder');",
      debug: 'function debug() { const log = () => undefined; log.enabled = false; log.extend = debug; return log; } debug.enable = () => undefined; debug.disable = () => ""; debug.enabled = () => false; module.exports = debug;',
    };
    build.onResolve({ filter: /^(readable-stream|string_decoder\/?|debug)$/ }, (args) =>
      args.importer.includes('node_modules') ? { path: args.path.replace(/\/$/, ''), namespace: 'node-builtins' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtins' }, (args) => ({ contents: shims[args.path], loader: 'js', resolveDir: root }));
  },
};

// Parts only some windows need are bundles of their own, each required by a small loader
// (`*Module.ts`) on first use: the ModelArts backend with the first account, Sign In / Sign Out when
// first run, the S3 store once the settings name one. Each brings its own copies of what it shares
// with the main bundle, except the error classes, which must be the main bundle's own for
// `instanceof` to hold: those it reads from what the loader hands it (src/storage/sharedClasses.ts).
const LAZY_MODULES = [
  { source: 'src/backends/modelarts/modelartsBackend', bundle: 'modelarts', when: 'with a ModelArts account' },
  { source: 'src/commands/cloud/signIn', bundle: 'sign-in', when: 'at sign-in' },
  { source: 'src/storage/s3Store', bundle: 's3-store', when: 'with an S3 store' },
];
const SHARED_MODULES = { [join(root, 'src/core/errors')]: 'core/errors', [join(root, 'src/storage/storageError')]: 'storage/storageError' };
const lazyModules = {
  name: 'lazy-modules',
  setup(build) {
    build.onResolve({ filter: /(modelartsBackend|signIn|s3Store)$/ }, (args) => {
      const lazy = args.importer.endsWith('Module.ts') && LAZY_MODULES.find((m) => join(root, m.source) === join(args.resolveDir, args.path));
      return lazy ? { path: `./${lazy.bundle}.js`, external: true } : undefined;
    });
  },
};
const sharedWithMain = {
  name: 'shared-with-main',
  setup(build) {
    build.onResolve({ filter: /(^|\/)(errors|storageError)$/ }, (args) => {
      const shared = SHARED_MODULES[join(args.resolveDir, args.path)];
      return shared ? { path: shared, namespace: 'shared-with-main' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'shared-with-main' }, (args) => ({
      contents: `module.exports = globalThis[Symbol.for('modelarts-training.shared')][${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

const options = {
  entryPoints: [join(root, 'src/extension.ts')],
  outfile: join(root, 'dist/main.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Native addons are optional in ssh2 (used for ssh:// Docker hosts): it falls back to JavaScript.
  external: ['vscode', 'cpu-features', '*.node'],
  sourcemap: production ? false : 'linked',
  minify: production,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [zodEnglishOnly, dockerodeWithoutBuildKit, lazySsh2, lazyPackages, lazyModules, nodeBuiltins],
};

/** The bundles of LAZY_MODULES; sign-in's shares dist/modelarts.js with the main bundle (the same file, so the same module). */
const lazyModuleOptions = LAZY_MODULES.map(({ source, bundle }) => ({
  ...options,
  entryPoints: [join(root, `${source}.ts`)],
  outfile: join(root, 'dist', `${bundle}.js`),
  metafile: false,
  plugins: [zodEnglishOnly, lazyPackages, lazyModules, sharedWithMain],
}));

/** The entry VS Code loads (dist/extension.js): it loads dist/main.js with V8's code cache (src/boot.ts). */
const bootOptions = {
  entryPoints: [join(root, 'src/boot.ts')],
  outfile: join(root, 'dist/extension.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

/** The lazily loaded packages, each bundled whole into dist/<name>.js. */
const lazyOptions = Object.entries(LAZY_PACKAGES).map(([pkg, name]) => ({
  stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: root, sourcefile: `${name}-entry.js`, loader: 'js' },
  outfile: join(root, 'dist', `${name}.js`),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['cpu-features', '*.node'],
  sourcemap: false,
  minify: true,
  logLevel: 'warning',
  legalComments: 'none',
}));

// The webview front end, bundled on its own for the browser: script and stylesheet per panel.
const webviewOptions = {
  entryPoints: [join(root, 'webview-ui/src/jobPanel.ts'), join(root, 'webview-ui/src/comparePanel.ts'), join(root, 'webview-ui/src/jobPanel.css')],
  outdir: join(root, 'dist/webview'),
  entryNames: '[name]',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'chrome120',
  sourcemap: production ? false : 'linked',
  // Always minified: the webview loads the whole bundle before it can draw anything.
  minify: true,
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [zodEnglishOnly],
};

/** A lazy package changes only with node_modules: rebuilt when its bundle is older than the lockfile. */
async function lazyBuild(each) {
  const built = statSync(each.outfile, { throwIfNoEntry: false });
  if (built && built.mtimeMs > statSync(join(root, 'package-lock.json')).mtimeMs) return;
  await esbuild.build(each);
}

if (args.has('--watch')) {
  for (const each of lazyOptions) await esbuild.build(each);
  for (const each of [options, ...lazyModuleOptions, bootOptions, webviewOptions]) await (await esbuild.context(each)).watch();
  console.log('[build] watching src/ and webview-ui/ …');
} else {
  const started = Date.now();
  const [main] = await Promise.all([esbuild.build(options), ...lazyModuleOptions.map((each) => esbuild.build(each)), esbuild.build(bootOptions), esbuild.build(webviewOptions), ...lazyOptions.map((each) => lazyBuild(each))]);
  // MODELARTS_BUILD_META=<file> keeps esbuild's metafile (what each package adds to the bundle).
  if (process.env.MODELARTS_BUILD_META) writeFileSync(process.env.MODELARTS_BUILD_META, JSON.stringify(main.metafile));
  const kb = (file) => `${(statSync(join(root, file)).size / 1024).toFixed(0)} KB`;
  const lazy = Object.values(LAZY_PACKAGES).map((name) => `dist/${name}.js ${kb(`dist/${name}.js`)}`).join(', ');
  console.log(`[build] dist/main.js ${kb('dist/main.js')} (loaded by dist/extension.js ${kb('dist/extension.js')}; on first use: ${lazy}, ${LAZY_MODULES.map((m) => `dist/${m.bundle}.js ${kb(`dist/${m.bundle}.js`)} ${m.when}`).join(', ')}), dist/webview/jobPanel.js ${kb('dist/webview/jobPanel.js')} in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
}
