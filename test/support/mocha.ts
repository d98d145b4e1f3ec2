/**
 * Runs a mocha suite programmatically and reports it the same way everywhere: in plain Node and
 * inside a VS Code extension host, where the console goes to the browser, not to a terminal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export interface SuiteResult {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  failures: Array<{ title: string; error: string }>;
}

export interface RunOptions {
  suite: string;
  files: string[];
  timeoutMs: number;
  /** Receives the report, one line at a time. */
  write: (line: string) => void;
  /** Where the JSON result goes, for test/runAll.mjs. */
  resultFile?: string;
  grep?: string;
}

export function findTestFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...findTestFiles(full));
    else if (entry.name.endsWith('.test.js')) files.push(full);
  }
  return files.sort();
}

export function runMocha(options: RunOptions): Promise<SuiteResult> {
  const result: SuiteResult = { suite: options.suite, passed: 0, failed: 0, skipped: 0, durationMs: 0, failures: [] };
  const started = Date.now();
  const write = options.write;

  class LineReporter extends Mocha.reporters.Base {
    constructor(runner: Mocha.Runner, reporterOptions: Mocha.MochaOptions) {
      super(runner, reporterOptions);
      let depth = 0;
      const indent = () => '  '.repeat(depth);
      runner.on('suite', (suite) => {
        if (suite.title) write(`${indent()}${suite.title}`);
        depth += 1;
      });
      runner.on('suite end', () => (depth -= 1));
      runner.on('pass', (test) => {
        result.passed += 1;
        write(`${indent()}✔ ${test.title} (${test.duration ?? 0} ms)`);
      });
      runner.on('pending', (test) => {
        result.skipped += 1;
        write(`${indent()}- ${test.title} (skipped)`);
      });
      runner.on('fail', (test, error: Error) => {
        result.failed += 1;
        const detail = error?.stack ?? String(error);
        result.failures.push({ title: test.fullTitle(), error: detail });
        write(`${indent()}✘ ${test.title}`);
        for (const line of detail.split('\n').slice(0, 12)) write(`${indent()}    ${line}`);
      });
    }
  }

  const mocha = new Mocha({
    ui: 'bdd',
    timeout: options.timeoutMs,
    reporter: LineReporter as unknown as typeof Mocha.reporters.Base,
    ...(options.grep ? { grep: options.grep } : {}),
  });
  for (const file of options.files) mocha.addFile(file);
  write(`── ${options.suite} (${options.files.length} file${options.files.length === 1 ? '' : 's'})`);
  return new Promise((resolve) => {
    const finish = () => {
      result.durationMs = Date.now() - started;
      write(`── ${options.suite}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped in ${(result.durationMs / 1000).toFixed(1)} s`);
      if (options.resultFile) {
        fs.mkdirSync(path.dirname(options.resultFile), { recursive: true });
        fs.writeFileSync(options.resultFile, JSON.stringify(result, null, 2));
      }
      resolve(result);
    };
    try {
      mocha.run(finish);
    } catch (error) {
      result.failed += 1;
      result.failures.push({ title: `${options.suite}: loading the tests`, error: String((error as Error)?.stack ?? error) });
      write(`✘ loading the tests failed: ${String(error)}`);
      finish();
    }
  });
}
