/**
 * What a job panel's *Reveal* beside an input or output does: an output kept on this machine opens
 * the choices of its row (Open Output…), a local input folder opens in a new window (revealFileInOS
 * exists only in a desktop VS Code), and a storage input is revealed in the Datasets view.
 */
import * as vscode from 'vscode';
import type { JobRef } from '../../backends/jobRef';
import { folderKey, parseObjectStoreUrl } from '../../core/dataset';
import type { TrainingJob } from '../../core/job';
import type { Services } from '../../services';

export async function revealJobPart(services: Services, ref: JobRef, job: TrainingJob, kind: 'input' | 'output', name: string): Promise<void> {
  if (kind === 'output') {
    const local = services.backends.get(ref.backend)?.localFiles?.outputLocation(ref.id, name);
    if (local) await vscode.commands.executeCommand('modelarts.jobs.openOutput', services.jobsTree.partNode(ref, job, 'output', name));
    else void vscode.window.showInformationMessage(`Output ${name} of ${job.metadata.name} is not on this machine.`);
    return;
  }
  const url = job.algorithm.inputs.find((input) => input.name === name)?.remote.obs?.obs_url ?? '';
  if (url.startsWith('/') || url.startsWith('file://')) {
    const uri = url.startsWith('/') ? vscode.Uri.file(url) : vscode.Uri.parse(url);
    await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
    return;
  }
  const { bucket, key } = parseObjectStoreUrl(url, `algorithm.inputs.${name}.remote.obs.obs_url`);
  await services.datasetsView.reveal(services.datasets.containerNode(bucket, folderKey(key)), { select: true, focus: true, expand: true });
}
