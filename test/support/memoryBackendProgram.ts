/**
 * What a job of the in-memory backend "runs": a script read from its hyperparameters, so a test
 * says what should happen instead of starting a container.
 *
 *   epochs=N      prints N lines `epoch i loss … acc … val_loss … val_acc …` (the digits example's
 *                 format), one per step; a value that is not a whole number fails as argparse
 *                 would (exit code 2)
 *   exit_code=K   the task ends with K (default 0)
 *   fail_runs=R   exit_code applies to the first R runs only (with fault-tolerance/job-retry-num,
 *                 a later run succeeds)
 *   sleep_ms=M    keeps running M ms after the last line (a job to stop)
 *
 * Every task of a multi-node job runs the same script; each first prints the flags it got.
 */
import { bootArguments } from '../../src/core/contract';
import type { JobParameter, TrainingJob } from '../../src/core/job';
import type { ResourceSample } from '../../src/core/resourceSample';
import { findFlavor } from '../../src/core/flavors';
import { MEMORY_FLAVORS } from './memoryBackendCatalog';

export interface TaskProgram {
  /** Printed one per step, in order. */
  readonly lines: readonly string[];
  /** How long the task goes on after its last line. */
  readonly holdMs: number;
  readonly exitCode: number;
}

const GIB = 1024 ** 3;

function parameter(parameters: readonly JobParameter[], name: string): string | undefined {
  return parameters.find((p) => p.name === name)?.value;
}

function wholeNumber(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** One epoch's line, in the digits example's format (a loss that falls, an accuracy that rises). */
export function epochLine(epoch: number): string {
  const loss = 2.3 * Math.exp(-epoch / 4) + 0.05;
  const acc = 1 - 0.9 * Math.exp(-epoch / 3);
  return `epoch ${epoch} loss ${loss.toFixed(4)} acc ${acc.toFixed(4)} val_loss ${(loss * 1.1).toFixed(4)} val_acc ${(acc * 0.98).toFixed(4)}`;
}

/** The script of one run (`run` counts from 0; restarts add one) of a job's tasks. */
export function taskProgram(algorithm: TrainingJob['algorithm'], run: number): TaskProgram {
  const { parameters } = algorithm;
  const header = `argv: ${bootArguments(algorithm).join(' ')}`;
  const epochsValue = parameter(parameters, 'epochs');
  const epochs = epochsValue === undefined ? 0 : wholeNumber(epochsValue);
  if (epochs === undefined) return { lines: [header, `train.py: error: argument --epochs: invalid int value: '${epochsValue}'`], holdMs: 0, exitCode: 2 };
  const exitValue = parameter(parameters, 'exit_code');
  const exitCode = exitValue === undefined ? 0 : wholeNumber(exitValue);
  if (exitCode === undefined || exitCode > 255) return { lines: [header, `error: exit_code must be 0 to 255 (got '${exitValue}')`], holdMs: 0, exitCode: 2 };
  const failRuns = wholeNumber(parameter(parameters, 'fail_runs'));
  const lines = [header, ...Array.from({ length: epochs }, (_, i) => epochLine(i + 1))];
  return { lines, holdMs: wholeNumber(parameter(parameters, 'sleep_ms')) ?? 0, exitCode: failRuns !== undefined && run >= failRuns ? 0 : exitCode };
}

/** CPU and memory of a task at its `step`th step: busy, with memory that grows a little. */
export function sampleAt(job: TrainingJob, task: string, step: number, time = Date.now()): ResourceSample {
  const flavor = findFlavor(job.spec.resource.flavor_id, MEMORY_FLAVORS);
  const limit = (flavor?.memory_gib ?? 2) * GIB;
  const cores = flavor?.cpu_cores ?? 1;
  return { time, task, cpuPercent: Math.round(cores * (70 + (step % 5) * 5)), memoryBytes: Math.min(limit, 300 * 1024 ** 2 + step * 1024 ** 2), memoryLimitBytes: limit };
}
