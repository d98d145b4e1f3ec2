/**
 * A ModelArts task's log as the backend reads it: the preview, the whole log through its
 * short-lived OBS link, and whether the job has ended (its log is complete).
 */
import { isTerminalPhase } from '../../core/lifecycle';
import type { TrainingJob } from '../../core/job';
import { ModelArtsApiError } from './apiErrors';
import type { LogSource } from './logTail';
import type { ModelArtsApi } from './modelartsApi';

export function cloudLogSource(api: ModelArtsApi, id: string, task: string, fetchJob: (id: string) => Promise<TrainingJob | undefined>): LogSource {
  return {
    preview: (signal) => api.logPreview(id, task, signal),
    fullLog: async (signal) => {
      const { obs_url: link } = await api.logUrl(id, task, signal);
      const response = await fetch(link, signal ? { signal } : {});
      if (!response.ok) throw new ModelArtsApiError('GetLogObject', response.status, undefined, 'the log link did not answer');
      return Buffer.from(await response.arrayBuffer());
    },
    ended: async () => {
      const job = await fetchJob(id);
      return !job || isTerminalPhase(job.status.phase);
    },
  };
}
