/** State saved by the version before backends (ids alone) still restores, as the local backend's. */
import * as assert from 'node:assert/strict';
import { jobKey, jobRefSchema, parseJobKey } from '../../src/backends/jobRef';
import { followedRef, parseFollowed } from '../../src/logs/followedLogs';
import { compareStateSchema, panelStateSchema } from '../../src/panels/protocol';

describe('state saved before backends existed', function () {
  it('reads a key without a backend as a local job, and round-trips the new keys', function () {
    assert.deepEqual(parseJobKey('3f2a'), { backend: 'local', id: '3f2a' });
    const ref = { backend: 'modelarts:cn-north-4:0a1b', id: '3f2a/with-slash' };
    assert.deepEqual(parseJobKey(jobKey(ref)), ref, 'backend ids hold no "/", so the first one splits');
    assert.equal(jobRefSchema.safeParse({ backend: 'a/b', id: 'x' }).success, false, 'a backend id with "/" is refused');
  });

  it('restores a job panel saved with its id alone on the local backend, and a new one on its own', function () {
    assert.equal(panelStateSchema.parse({ jobId: 'j' }).backend, undefined);
    assert.equal(panelStateSchema.parse({ backend: 'lab', jobId: 'j' }).backend, 'lab');
  });

  it('restores a compare panel saved as {jobIds} as local jobs, and {jobs} as given', function () {
    assert.deepEqual(compareStateSchema.parse({ jobIds: ['a', 'b'] }), { jobs: [{ backend: 'local', id: 'a' }, { backend: 'local', id: 'b' }] });
    const jobs = [{ backend: 'lab', id: 'a' }, { backend: 'local', id: 'a' }];
    assert.deepEqual(compareStateSchema.parse({ jobs }), { jobs });
    assert.equal(compareStateSchema.safeParse({ jobIds: ['a'] }).success, false, 'two to ten');
  });

  it('follows again the logs saved without a backend as local ones, and drops what is not an entry', function () {
    const saved = [{ jobId: 'a', task: 'worker-0' }, { backend: 'lab', jobId: 'b', task: 'worker-1' }, { jobId: '' }, 'junk', null, { jobId: 'c', task: 7 }];
    const entries = parseFollowed(saved);
    assert.deepEqual(entries.map(followedRef), [{ backend: 'local', id: 'a' }, { backend: 'lab', id: 'b' }]);
    assert.deepEqual(parseFollowed({ not: 'a list' }), []);
    assert.deepEqual(parseFollowed(undefined), []);
  });
});
