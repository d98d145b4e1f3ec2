/**
 * What a job panel's *Reveal* beside an input or output does: an output kept on this machine opens
 * the choices of its row (Open Output…), a local input folder opens in a new window (revealFileInOS
 * exists only in a desktop VS Code), and a storage input (or a cloud job's output) is revealed in
 * the Datasets view, under its backend's own store when it has one.
 */
import * as vscode from 'vscode';
import type { JobRef } from '../../backends/jobRef';
import { folderKey, parseObjectStoreUrl } from '../../core/dataset';
import type { TrainingJob } from '../../core/job';
import type { Services } from '../../services';
import type { DataPlace } from '../../views/datasetPlaces';

export async function revealJobPart(services: Services, ref: JobRef, job: TrainingJob, kind: 'input' | 'output', name: string): Promise<void> {
  // A backend with a store of its own (ModelArts) names its locations `/bucket/key` or obs:// there.
  const place = services.dataPlaces.list().find((p) => p.backend === ref.backend);
  if (kind === 'output') {
    const local = services.backends.get(ref.backend)?.localFiles?.outputLocation(ref.id, name);
    if (local) {
      await vscode.commands.executeCommand('modelarts.jobs.openOutput', services.jobsTree.partNode(ref, job, 'output', name));
      return;
    }
    const stored = job.algorithm.outputs?.find((output) => output.name === name)?.remote?.obs.obs_url;
    if (stored && place) return revealInDatasets(services, place, stored, `algorithm.outputs.${name}.remote.obs.obs_url`);
    void vscode.window.showInformationMessage(`Output ${name} of ${job.metadata.name} is not on this machine.`);
    return;
  }
  const url = job.algorithm.inputs.find((input) => input.name === name)?.remote.obs?.obs_url ?? '';
  if (!place && (url.startsWith('/') || url.startsWith('file://'))) {
    const uri = url.startsWith('/') ? vscode.Uri.file(url) : vscode.Uri.parse(url);
    await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
    return;
  }
  await revealInDatasets(services, place ?? services.dataPlaces.local, url, `algorithm.inputs.${name}.remote.obs.obs_url`);
}

async function revealInDatasets(services: Services, place: DataPlace, url: string, field: string): Promise<void> {
  const { bucket, key } = parseObjectStoreUrl(url.startsWith('/') ? `obs:/${url}` : url, field);
  await services.datasetsView.reveal(place.model.containerNode(bucket, folderKey(key)), { select: true, focus: true, expand: true });
}
