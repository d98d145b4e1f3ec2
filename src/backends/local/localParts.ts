/** The parts of the local backend, as the runtime hands them to each other (wired once by the facade). */
import type { LocalDevContainers } from './devContainer';
import type { DockerEventStream } from './dockerEvents';
import type { JobCreation } from './jobCreation';
import type { JobStopping } from './jobStopping';
import type { LogCaptures } from './logCaptures';
import type { Reconciliation } from './reconciliation';
import type { ResourceStats } from './resourceStats';
import type { Scheduler } from './scheduler';
import type { TaskExits } from './taskExits';
import type { WindowFollower } from './windowFollower';

export interface LocalParts {
  readonly dockerEvents: DockerEventStream;
  readonly captures: LogCaptures;
  readonly stats: ResourceStats;
  readonly scheduler: Scheduler;
  readonly creation: JobCreation;
  readonly exits: TaskExits;
  readonly stopping: JobStopping;
  readonly reconciliation: Reconciliation;
  readonly follower: WindowFollower;
  readonly devContainers: LocalDevContainers;
}
