import * as assert from 'node:assert/strict';
import type { TrainingJob } from '../../src/core/job';
import type { JobPhase } from '../../src/core/lifecycle';
import { decideAdmission, jobDemand } from '../../src/backends/local/admission';

function job(id: string, phase: JobPhase, created: number, flavor = 'modelarts.local.cpu.1u2g', nodes = 1): TrainingJob {
  return {
    kind: 'job',
    metadata: { id, name: id, description: '', create_time: created, workspace_id: '0', user_name: '', annotations: {} },
    algorithm: { code_dir: '/c/', boot_file: '/c/t.py', parameters: [], inputs: [], outputs: [], engine: { image_url: 'i' }, environments: {} },
    spec: { resource: { flavor_id: flavor, node_count: nodes } },
    status: { phase, secondary_phase: phase, duration: 0, start_time: 0, tasks: [], task_statuses: [], running_records: [] },
  };
}

describe('admission within the local capacity', function () {
  const capacity = { cpus: 4, memoryGib: 16 };

  it('counts a flavor times its nodes', function () {
    assert.deepEqual(jobDemand(job('a', 'Pending', 1, 'modelarts.local.cpu.2u8g', 2)), { cpus: 4, memoryGib: 16 });
  });

  it('starts waiting jobs oldest first while they fit, and queues the rest behind the first that does not', function () {
    const decision = decideAdmission(
      [
        { job: job('running', 'Running', 1, 'modelarts.local.cpu.2u4g'), admitted: true },
        { job: job('late-small', 'Pending', 5), admitted: false },
        { job: job('big', 'Pending', 3, 'modelarts.local.cpu.2u8g', 2), admitted: false },
        { job: job('early-small', 'Pending', 2), admitted: false },
        { job: job('done', 'Completed', 0, 'modelarts.local.cpu.8u32g'), admitted: true },
      ],
      capacity,
    );
    assert.deepEqual(decision.start, ['early-small']);
    // big needs 4 vCPUs while 3 are held; late-small would fit but must not overtake it.
    assert.deepEqual(decision.queue, ['big', 'late-small']);
    assert.equal(decision.reason, 'needs 4 vCPUs and 16 GiB; 2 running jobs use 3 of 4 vCPUs and 6 of 16 GiB');
  });

  it('counts admitted jobs that have not started yet, and ignores ended ones', function () {
    const decision = decideAdmission(
      [
        { job: job('starting', 'Pending', 1, 'modelarts.local.cpu.4u16g'), admitted: true },
        { job: job('next', 'Pending', 2), admitted: false },
      ],
      capacity,
    );
    assert.deepEqual(decision.start, []);
    assert.deepEqual(decision.queue, ['next']);
  });
});
