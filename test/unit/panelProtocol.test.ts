/** The job panels' message protocol: what each side accepts from the other. */
import * as assert from 'node:assert/strict';
import { compareHostMessageSchema, hostMessageSchema, panelStateSchema, webviewMessageSchema } from '../../src/panels/protocol';

describe('Job panel protocol', function () {
  it('accepts the webview\'s messages and refuses anything else', function () {
    assert.ok(webviewMessageSchema.safeParse({ type: 'ready' }).success);
    assert.ok(webviewMessageSchema.safeParse({ type: 'action', action: 'stop' }).success);
    assert.ok(webviewMessageSchema.safeParse({ type: 'reveal', kind: 'output', name: 'train_url' }).success);
    for (const bad of [
      { type: 'action', action: 'rm -rf /' },
      { type: 'action' },
      { type: 'reveal', kind: 'file', name: 'x' },
      { type: 'reveal', kind: 'input', name: '' },
      { type: 'eval', code: 'alert(1)' },
      'ready',
      null,
    ]) {
      assert.equal(webviewMessageSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('checks the host\'s messages in the webview, down to the job and its events', function () {
    assert.ok(hostMessageSchema.safeParse({ type: 'events', events: [{ time: 't', level: 'Info', message: '<b>x</b>', source: 'Job' }], reset: true }).success);
    assert.equal(hostMessageSchema.safeParse({ type: 'events', events: [{ time: 't', level: 'Fatal', message: 'x', source: 'Job' }], reset: true }).success, false);
    assert.equal(hostMessageSchema.safeParse({ type: 'job', job: { kind: 'job' }, command: [], backend: 'e', actions: [] }).success, false);
    assert.ok(hostMessageSchema.safeParse({ type: 'metrics', series: [{ metric: 'loss', steps: [1], values: [0.5] }], resources: [], reset: false }).success);
    assert.ok(compareHostMessageSchema.safeParse({ type: 'jobs', jobs: [{ id: 'local/a', name: 'a', phase: 'Running' }], state: { jobs: [{ backend: 'local', id: 'a' }] } }).success);
  });

  it('keeps only UI state, with defaults, and needs the job id to restore a panel', function () {
    assert.deepEqual(panelStateSchema.parse({ jobId: 'j' }), { jobId: 'j', tab: 'overview', eventLevel: 'all', eventText: '' });
    assert.equal(panelStateSchema.safeParse({ tab: 'events' }).success, false);
    assert.equal(panelStateSchema.safeParse({ jobId: 'j', tab: 'logs' }).success, false);
  });
});
