import * as assert from 'node:assert/strict';
import { presetImagesFirst } from '../../src/backends/local/localRuntime';

const labels = { 'org.modelarts-training.engine.id': 'pytorch-1.13-cpu' };

describe('preset images', function () {
  it('puts the preset before images built FROM it, which inherit its engine labels', function () {
    const derived = { Id: 'sha256:b', RepoTags: ['team/trainer:1'], Labels: labels, Created: 200 };
    const preset = { Id: 'sha256:a', RepoTags: ['modelarts-training/pytorch:1.13-cpu'], Labels: labels, Created: 300 };
    assert.deepEqual(presetImagesFirst([derived, preset]).map((image) => image.Id), ['sha256:a', 'sha256:b']);
    const ours = { Id: 'sha256:c', RepoTags: ['modelarts-training/custom:1'], Labels: { ...labels, 'org.modelarts-training.custom-image': 'true' }, Created: 100 };
    assert.deepEqual(presetImagesFirst([ours, derived, preset]).map((image) => image.Id), ['sha256:a', 'sha256:b'], 'an image this extension built is never a preset');
  });

  it('takes the oldest when none is in the presets repository', function () {
    const newer = { Id: 'sha256:n', RepoTags: ['team/trainer:2'], Labels: labels, Created: 200 };
    const older = { Id: 'sha256:o', RepoTags: ['mirror/pytorch:1.13-cpu'], Labels: labels, Created: 100 };
    assert.deepEqual(presetImagesFirst([newer, older]).map((image) => image.Id), ['sha256:o', 'sha256:n']);
  });
});
