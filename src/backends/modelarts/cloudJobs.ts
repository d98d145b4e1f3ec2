/**
 * Job calls that need more than one request: creating a job without ever sending it twice blindly
 * (an answer lost to a reset, a timeout or a 5xx is followed by a look-up of the name before one
 * more try), and a job's CPU and memory metrics as the charts' samples.
 */
import { CancelledError, errorMessage } from '../../core/errors';
import type { Flavor } from '../../core/flavors';
import { withLiveDuration, type TrainingJob } from '../../core/job';
import type { JobEvent } from '../../core/jobEvent';
import type { Logger } from '../../core/logger';
import type { ResourceSample } from '../../core/resourceSample';
import { ModelArtsApiError, ServiceUnreachableError } from './apiErrors';
import { eventFromCloud, jobFromCloud } from './jobMapping';
import { EVENTS_PAGE_SIZE, type ModelArtsApi } from './modelartsApi';

/** Clocks differ: a job "created by us" may carry a create_time a little before we asked. */
const CLOCK_SLACK_MS = 5 * 60_000;

function lostAnswer(error: unknown): boolean {
  return error instanceof ServiceUnreachableError || (error instanceof ModelArtsApiError && error.status >= 500);
}

/** The job of that name created since `since`, if the service has one. */
async function findCreated(api: ModelArtsApi, name: string, since: number): Promise<TrainingJob | undefined> {
  const page = await api.searchJobs(0, [{ key: 'name', operator: 'like', value: [name] }]);
  const match = page.items.filter((item) => item.metadata.name === name && item.metadata.create_time >= since - CLOCK_SLACK_MS).sort((a, b) => b.metadata.create_time - a.metadata.create_time)[0];
  return match && jobFromCloud(match, 'ListTrainingJobs');
}

/** Creates the job; after a lost answer, adopts the job if it was created, else tries once more. */
export async function createJobOnce(api: ModelArtsApi, body: unknown, name: string, signal: AbortSignal | undefined, logger: Logger): Promise<TrainingJob> {
  const since = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return withLiveDuration(jobFromCloud(await api.createJob(body, signal), 'CreateTrainingJob'), Date.now());
    } catch (error) {
      if (signal?.aborted) throw new CancelledError('Creating the training job');
      if (!lostAnswer(error)) throw error;
      logger.warn(`Creating ${name}: ${errorMessage(error)}; looking it up before trying again`);
      const created = await findCreated(api, name, since);
      if (created) return created;
      if (attempt >= 1) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** ModelArts gives one value a minute (-1: none): CPU in percent of the flavor's cores, memory in percent of its memory. */
const METRIC_INTERVAL_MS = 60_000;

export async function resourceSamples(api: ModelArtsApi, job: TrainingJob, flavor: Flavor | undefined): Promise<ResourceSample[]> {
  const samples: ResourceSample[] = [];
  if (!job.status.start_time) return samples;
  const cores = flavor?.cpu_cores || 1;
  const limit = (flavor?.memory_gib ?? 0) * 1024 ** 3;
  for (const task of job.status.tasks) {
    let answer;
    try {
      answer = await api.metrics(job.metadata.id, task);
    } catch (error) {
      if (error instanceof ModelArtsApiError && error.status < 500) continue;
      throw error;
    }
    if (!answer) continue;
    const series = (name: string) => answer.metrics.find((m) => m.metric === name)?.value ?? [];
    const cpu = series('cpuUsage');
    const memory = series('memUsage');
    cpu.forEach((value, index) => {
      const mem = memory[index] ?? -1;
      if (value < 0 && mem < 0) return;
      samples.push({
        time: job.status.start_time + index * METRIC_INTERVAL_MS,
        task,
        cpuPercent: Math.max(0, value) * cores,
        memoryBytes: Math.max(0, mem) * (limit / 100),
        memoryLimitBytes: limit,
      });
    });
  }
  return samples.sort((a, b) => a.time - b.time);
}

/** The job's events after the first `known` ones, oldest first, page by page. */
export async function eventsAfter(api: ModelArtsApi, id: string, known: number): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for (let offset = known; ; ) {
    const page = await api.listEvents(id, offset);
    events.push(...page.events.map(eventFromCloud));
    offset += page.events.length;
    if (page.events.length < EVENTS_PAGE_SIZE) return events;
  }
}
