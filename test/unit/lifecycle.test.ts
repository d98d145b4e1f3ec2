import * as assert from 'node:assert/strict';
import { JOB_PHASES, actionRefusal, allowedActions, canTransition, isActionAllowed, isTerminalPhase } from '../../src/core/lifecycle';

describe('job life cycle', function () {
  it('allows stop only while Creating, Pending or Running, as the ModelArts console does', function () {
    const stoppable = JOB_PHASES.filter((phase) => isActionAllowed('stop', phase));
    assert.deepEqual(stoppable, ['Creating', 'Pending', 'Running']);
  });

  it('allows delete only in a terminal phase', function () {
    const deletable = JOB_PHASES.filter((phase) => isActionAllowed('delete', phase));
    assert.deepEqual(deletable, ['Failed', 'Completed', 'Terminated', 'Abnormal']);
    assert.deepEqual(deletable, JOB_PHASES.filter(isTerminalPhase));
  });

  it('never leaves a terminal phase', function () {
    for (const from of JOB_PHASES.filter(isTerminalPhase)) {
      for (const to of JOB_PHASES) assert.equal(canTransition(from, to), false, `${from} → ${to}`);
    }
  });

  it('follows the ModelArts order and refuses skipping back', function () {
    assert.ok(canTransition('Creating', 'Pending'));
    assert.ok(canTransition('Pending', 'Running'));
    assert.ok(canTransition('Running', 'Completed'));
    assert.ok(canTransition('Running', 'Terminating'));
    assert.ok(canTransition('Terminating', 'Terminated'));
    assert.ok(canTransition('Running', 'Abnormal'));
    assert.equal(canTransition('Pending', 'Completed'), false, 'a job completes only after it ran');
    assert.equal(canTransition('Running', 'Creating'), false);
    assert.equal(canTransition('Creating', 'Completed'), false);
  });

  it('lists the actions of a phase', function () {
    assert.deepEqual(allowedActions('Running'), ['stop', 'copy', 'saveAsAlgorithm', 'showLogs', 'showEvents']);
    assert.deepEqual(allowedActions('Completed'), ['delete', 'copy', 'saveAsAlgorithm', 'showLogs', 'showEvents']);
  });
});

describe('refusals in the console\'s words', function () {
  it('names the phase and the phases that allow the action', function () {
    assert.equal(actionRefusal('stop', 'Running', 'a'), undefined);
    assert.equal(actionRefusal('stop', 'Completed', 'digits-1'), 'Training job digits-1 is Completed; it can be stopped only while Creating, Pending or Running.');
    assert.equal(actionRefusal('delete', 'Pending', 'x'), 'Training job x is Pending; it can be deleted only while Failed, Completed, Terminated or Abnormal.');
  });
});
