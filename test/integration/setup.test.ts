/**
 * Root hooks of the integration suite: the Docker engine must answer and the preset image must be
 * installed. Both fail loudly; an integration test never skips because Docker is missing.
 */
import * as assert from 'node:assert/strict';
import Docker from 'dockerode';

export const docker = new Docker();

before(async function () {
  this.timeout(20_000);
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `The integration tests need a running Docker engine and none answers (${(error as Error).message}). ` +
        'Run scripts/ensure-docker.sh (npm test does) to install and start one.',
    );
  }
  const images = await docker.listImages({ filters: { label: ['org.modelarts-training.engine.id=pytorch-1.13-cpu'] } } as Docker.ListImagesOptions);
  assert.ok(images.length > 0, 'The preset engine image modelarts-training/pytorch:1.13-cpu is missing: run scripts/build-preset-images.sh');
});
