// Runs the product: code-server (VS Code 1.100 in the browser) on 127.0.0.1 with this extension
// installed and examples/digits open, on the local Docker engine. `npm start` runs the set-up first.
//   MODELARTS_PORT=8080 (default; the next free port is used if it is taken)
//   MODELARTS_EDITOR_HOME=.modelarts-editor (default; user data, extensions, job records)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const home = resolve(process.env.MODELARTS_EDITOR_HOME ?? join(root, '.modelarts-editor'));
const folder = join(root, 'examples', 'digits');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  return result.stdout.trim();
}

function portIsFree(port) {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
const entry = run('bash', [join(root, 'scripts', 'ensure-code-server.sh')]).split('\n').pop();

// The extension is installed as a link to this folder, so a rebuild is picked up on reload.
const extensions = join(home, 'extensions');
mkdirSync(extensions, { recursive: true });
const link = join(extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
rmSync(link, { force: true, recursive: false });
symlinkSync(root, link, 'dir');

const userSettings = join(home, 'user-data', 'User', 'settings.json');
if (!existsSync(userSettings)) {
  mkdirSync(dirname(userSettings), { recursive: true });
  writeFileSync(
    userSettings,
    JSON.stringify(
      {
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'telemetry.telemetryLevel': 'off',
        'workbench.startupEditor': 'none',
        'git.openRepositoryInParentFolders': 'never',
      },
      null,
      2,
    ),
  );
}

let port = Number(process.env.MODELARTS_PORT ?? 8080);
while (!(await portIsFree(port))) port += 1;

writeFileSync(join(home, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
const child = spawn(
  process.execPath,
  [
    entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--user-data-dir', join(home, 'user-data'),
    '--extensions-dir', extensions,
    '--config', join(home, 'config.yaml'),
    folder,
  ],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, XDG_CONFIG_HOME: join(home, 'xdg-config'), XDG_DATA_HOME: join(home, 'xdg-data'), XDG_CACHE_HOME: join(home, 'xdg-cache') },
  },
);

for (let i = 0; i < 150; i += 1) {
  const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
  if (healthy) break;
  if (child.exitCode !== null) process.exit(child.exitCode);
  await new Promise((r) => setTimeout(r, 200));
}
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
console.log(`\nModelArts Training is running in VS Code at:\n\n  ${url}\n\nOpen the ModelArts view in the activity bar and run "ModelArts: Create Training Job". Ctrl+C stops it.`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
