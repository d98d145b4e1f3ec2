/**
 * A real VS Code for the editor and UI suites: code-server 4.100.3 (VS Code 1.100.3) on 127.0.0.1,
 * with throw-away user data, driven by Playwright in Debian's Chromium.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const RESULTS_DIR = path.join(REPO_ROOT, 'out', 'test-results');
export const SCREENSHOTS_DIR = path.join(RESULTS_DIR, 'screenshots');

const QUIET_SETTINGS = {
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'window.restoreWindows': 'none',
  'git.openRepositoryInParentFolders': 'never',
};

/** The installed code-server launcher (scripts/ensure-code-server.sh puts it in the cache). */
export function codeServerEntry(): string {
  const fromEnv = process.env.MODELARTS_CODE_SERVER;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const result = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const entry = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !fs.existsSync(entry)) throw new Error('code-server is not installed and scripts/ensure-code-server.sh could not install it');
  return entry;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface CodeServerOptions {
  /** Extra environment for code-server and its extension host. */
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** Reuse this user-data folder (to restart the same "machine"). */
  home?: string;
}

export class CodeServer {
  private constructor(
    readonly port: number,
    readonly home: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {}

  static async start(options: CodeServerOptions = {}): Promise<CodeServer> {
    const entry = codeServerEntry();
    const port = await freePort();
    const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-code-server-'));
    const userData = path.join(home, 'user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));
    fs.writeFileSync(path.join(home, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
    const logFile = path.join(home, 'code-server.log');
    const log = fs.openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [
        entry,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--bind-addr', `127.0.0.1:${port}`,
        '--user-data-dir', userData,
        '--extensions-dir', path.join(home, 'extensions'),
        '--config', path.join(home, 'config.yaml'),
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
          XDG_DATA_HOME: path.join(home, 'xdg-data'),
          XDG_CACHE_HOME: path.join(home, 'xdg-cache'),
          ...options.env,
        },
      },
    );
    fs.closeSync(log);
    const server = new CodeServer(port, home, child, logFile);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}); see ${logFile}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (response.ok) return server;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`code-server did not answer within 60 s; see ${logFile}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The workbench URL for `folder`, optionally loading an extension (and its test suite). */
  workbenchUrl(folder: string, payload: Array<[string, string]> = []): string {
    const params = new URLSearchParams({ folder });
    if (payload.length) params.set('payload', JSON.stringify(payload));
    return `http://127.0.0.1:${this.port}/?${params.toString()}`;
  }

  /** A `vscode-remote://` URI of a path on this server, as the payload wants it. */
  remoteUri(absolutePath: string): string {
    return `vscode-remote://127.0.0.1:${this.port}${absolutePath}`;
  }

  /**
   * Stops code-server, removes the containers of the jobs its extension host created (found by
   * their records in this server's user data, so nobody else's containers are touched) and
   * removes its user data. MODELARTS_KEEP_TEST_HOME=1 keeps the user data for a post-mortem.
   */
  async stop(): Promise<void> {
    if (this.child.pid && this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    // The jobs and dev containers of this editor's engines go with it (a failed test may leave some running).
    const jobIds = new Set<string>();
    const storeIds = new Set<string>();
    const globalStorage = path.join(this.home, 'user-data', 'User', 'globalStorage');
    for (const extension of fs.existsSync(globalStorage) ? fs.readdirSync(globalStorage) : []) {
      const dataDir = path.join(globalStorage, extension, 'local-engine');
      if (!fs.existsSync(dataDir)) continue;
      storeIds.add(createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16));
      const jobs = path.join(dataDir, 'jobs');
      if (fs.existsSync(jobs)) for (const id of fs.readdirSync(jobs)) jobIds.add(id);
    }
    if (storeIds.size) {
      const docker = new Docker();
      const containers = await docker.listContainers({ all: true, filters: { label: ['org.modelarts-training.managed-by=modelarts-training'] } }).catch(() => []);
      for (const container of containers) {
        const labels = container.Labels;
        const devContainer = labels['org.modelarts-training.dev-owner'] !== undefined && storeIds.has(labels['org.modelarts-training.store'] ?? '');
        if (devContainer || jobIds.has(labels['org.modelarts-training.job-id'] ?? '')) {
          await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
        }
      }
    }
    if (process.env.MODELARTS_KEEP_TEST_HOME !== '1') fs.rmSync(this.home, { recursive: true, force: true });
  }
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

export async function openBrowser(): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: process.env.MODELARTS_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  openPages.add(page);
  page.on('close', () => openPages.delete(page));
  return { browser, context, page };
}

/** Pages open now, for a screenshot when a test fails (test/ui/failureScreenshots.test.ts). */
export const openPages = new Set<Page>();

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
