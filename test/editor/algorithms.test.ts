/**
 * The algorithm commands inside a real VS Code extension host, called with arguments as keybindings,
 * tasks and other extensions call them, and the algorithm's JSON document edited and saved in a
 * real editor, against the real local engine.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Algorithm, ModelArtsApi } from '../../src/api';
import { EXTENSION_ID, activateApi as activate, rejectsNaming } from '../support/editor';

/** An algorithm's document: `/<backend>/<id>/<name>`. */
const algorithmUri = (id: string) => vscode.Uri.from({ scheme: 'modelarts-algorithm', path: `/local/${id}/editor-digits.algorithm.json` });

const PYTORCH = { engine_name: 'PyTorch', engine_version: '1.13-cpu' };

async function closeAlgorithmEditors(): Promise<void> {
  for (const document of vscode.workspace.textDocuments.filter((d) => d.uri.scheme === 'modelarts-algorithm')) {
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
}

/** Replaces the whole text of a document, as typing would. */
async function replaceText(document: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), text);
  assert.ok(await vscode.workspace.applyEdit(edit), 'the edit applies');
}

describe('Algorithms in VS Code', function () {
  let api: ModelArtsApi;
  let id = '';
  const digits = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const request = (name: string, config: Record<string, unknown> = {}) => ({
    metadata: { name, description: 'created by the editor suite' },
    job_config: {
      code_dir: '.',
      boot_file: 'train.py',
      engine: PYTORCH,
      parameters: [
        { name: 'epochs', value: '3' },
        { name: 'lr', value: '0.01' },
      ],
      inputs: [{ name: 'data_url', description: 'the digits CSV' }],
      outputs: [{ name: 'train_url' }],
      ...config,
    },
  });
  const current = async (): Promise<Algorithm> => {
    const algorithm = await api.algorithms.get(id);
    assert.ok(algorithm, `algorithm ${id} exists`);
    return algorithm;
  };

  before(async function () {
    api = await activate();
  });

  after(async function () {
    await closeAlgorithmEditors();
    for (const algorithm of await api.algorithms.list()) {
      if (algorithm.metadata.name.startsWith('editor-')) await vscode.commands.executeCommand('modelarts.algorithms.delete', algorithm.metadata.id).then(undefined, () => undefined);
    }
  });

  it('registers the algorithm commands and contributes the JSON schemas', async function () {
    const commands = await vscode.commands.getCommands(true);
    for (const command of ['create', 'edit', 'delete', 'createJob', 'refresh']) {
      assert.ok(commands.includes(`modelarts.algorithms.${command}`), `modelarts.algorithms.${command} is registered`);
    }
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    const validation = (extension?.packageJSON as { contributes: { jsonValidation: Array<{ fileMatch: string }> } }).contributes.jsonValidation;
    assert.deepEqual(validation.map((entry) => entry.fileMatch), ['*.algorithm.json', '*.job.json']);
  });

  it('modelarts.algorithms.create with a request over examples/digits asks nothing and returns the new id', async function () {
    const before = (await vscode.commands.executeCommand<{ algorithms: number }>('modelarts.algorithms.refresh')).algorithms;
    const created = await vscode.commands.executeCommand<string>('modelarts.algorithms.create', request('editor-digits'));
    assert.equal(typeof created, 'string');
    id = created;
    const algorithm = await current();
    // code_dir relative to the workspace folder (examples/digits) is resolved against it.
    assert.equal(algorithm.job_config.code_dir, digits() + path.sep);
    assert.equal(algorithm.job_config.boot_file, path.join(digits(), 'train.py'));
    assert.deepEqual(algorithm.job_config.parameters, [
      { name: 'epochs', value: '3' },
      { name: 'lr', value: '0.01' },
    ]);
    assert.deepEqual(algorithm.job_config.inputs, [{ name: 'data_url', description: 'the digits CSV' }]);
    const after = await vscode.commands.executeCommand<{ state: string; algorithms: number }>('modelarts.algorithms.refresh');
    assert.deepEqual(after, { state: 'available', algorithms: before + 1 });
    assert.equal((await api.algorithms.list())[0]?.metadata.id, id, 'newest first');
  });

  it('modelarts.algorithms.create refuses invalid input naming the field, and creates nothing', async function () {
    const before = (await api.algorithms.list()).length;
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-bad name')), 'metadata.name', 'letters, digits');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-digits')), 'metadata.name', 'already exists');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-x', { boot_file: 'nope.py' })), 'job_config.boot_file', 'nope.py');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-x', { engine: { engine_id: 'caffe-1.0' } })), 'job_config.engine');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-x', { bootfile: 'train.py' })), 'job_config.bootfile', 'not a known field');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', request('editor-x', { parameters: [{ name: 'data_url' }] })), 'job_config.parameters[0].name', 'used twice');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.create', 'digits'), 'must be an object');
    assert.equal((await api.algorithms.list()).length, before, 'no algorithm was created');
  });

  it('modelarts.algorithms.edit (id, request) and ({id, request}) update without opening an editor and return the id', async function () {
    const algorithmEditors = () => vscode.window.visibleTextEditors.filter((editor) => editor.document.uri.scheme === 'modelarts-algorithm').length;
    const editors = algorithmEditors();
    const updated = await vscode.commands.executeCommand('modelarts.algorithms.edit', id, request('editor-digits', { parameters: [{ name: 'epochs', value: 4 }] }));
    assert.equal(updated, id);
    assert.deepEqual((await current()).job_config.parameters, [{ name: 'epochs', value: '4' }]);
    assert.equal(await vscode.commands.executeCommand('modelarts.algorithms.edit', { id, request: request('editor-digits') }), id);
    assert.equal((await current()).job_config.parameters.length, 2);
    assert.equal(algorithmEditors(), editors, 'no algorithm editor was opened');

    const before = await current();
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.edit', id, request('editor-digits', { outputs: [{ name: 'no spaces' }] })), 'job_config.outputs[0].name');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.edit', { id }), 'request');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.edit', 'no-such-algorithm', request('editor-digits')), 'no-such-algorithm');
    assert.deepEqual(await current(), before, 'refused edits changed nothing');
  });

  it('modelarts.algorithms.edit opens the modelarts-algorithm: document; a saved parameter change reaches the engine', async function () {
    assert.equal(await vscode.commands.executeCommand('modelarts.algorithms.edit', id), id);
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor, 'an editor is open');
    const document = editor.document;
    assert.equal(document.uri.toString(), algorithmUri(id).toString());
    assert.equal(document.languageId, 'json');
    const before = vscode.Uri.from({ scheme: 'modelarts-algorithm', path: `/${id}/editor-digits.algorithm.json` });
    assert.equal(Buffer.from(await vscode.workspace.fs.readFile(before)).toString(), document.getText(), 'a path saved before backends existed reads the local algorithm');
    const content = JSON.parse(document.getText()) as ReturnType<typeof request>;
    assert.deepEqual(Object.keys(content), ['metadata', 'job_config'], 'the updatable request: no id or times');
    assert.equal(content.job_config.code_dir, digits() + path.sep);

    content.job_config.parameters = [
      { name: 'epochs', value: '7' },
      { name: 'lr', value: '0.01' },
    ];
    await replaceText(document, JSON.stringify(content, null, 2) + '\n');
    assert.ok(document.isDirty, 'the edit made the document dirty');
    assert.ok(await document.save(), `the document saves (dirty: ${document.isDirty}, stored: ${JSON.stringify((await current()).job_config.parameters)})`);
    assert.equal(document.isDirty, false);
    const saved = await current();
    assert.deepEqual(saved.job_config.parameters[0], { name: 'epochs', value: '7' });
    assert.ok((saved.metadata.update_time ?? 0) > saved.metadata.create_time, 'update_time is set');
  });

  it('refuses a bad save, naming the field and what is allowed, and leaves the algorithm unchanged', async function () {
    const uri = algorithmUri(id);
    const before = await current();
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const content = JSON.parse(document.getText()) as ReturnType<typeof request>;
    const bad = JSON.stringify({ ...content, job_config: { ...content.job_config, parameters: [{ name: '--epochs', value: '9' }] } }, null, 2);

    // Saving the editor fails (VS Code shows the message) and the document stays dirty.
    await replaceText(document, bad);
    assert.equal(await document.save(), false, 'the save is refused');
    assert.equal(document.isDirty, true);
    // The same write through the file system API rejects with the provider's FileSystemError.
    await rejectsNaming(vscode.workspace.fs.writeFile(uri, Buffer.from(bad)), 'job_config.parameters[0].name', 'a letter or "_"');
    await rejectsNaming(vscode.workspace.fs.writeFile(uri, Buffer.from('{ "metadata": ')), 'not valid JSON');
    await rejectsNaming(
      vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify({ ...content, job_config: { ...content.job_config, boot_file: 'missing.py' } }))),
      'job_config.boot_file',
      'missing.py',
    );
    assert.deepEqual(await current(), before, 'the stored algorithm is untouched');

    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(document.isDirty, false);
    assert.equal(JSON.parse(document.getText()).job_config.parameters[0].value, '7', 'reverting shows the stored algorithm');
  });

  it('the document follows changes made elsewhere', async function () {
    const uri = algorithmUri(id);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.commands.executeCommand('modelarts.algorithms.edit', id, request('editor-digits', { parameters: [{ name: 'epochs', value: '11' }] }));
    const deadline = Date.now() + 10_000;
    while (!document.getText().includes('"11"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(document.getText(), /"value": "11"/, 'the open, unmodified document shows the new value');
  });

  it('modelarts.algorithms.createJob (id) returns the draft seed without asking', async function () {
    assert.deepEqual(await vscode.commands.executeCommand('modelarts.algorithms.createJob', id), { algorithmId: id, backend: 'local' });
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.createJob', 'no-such-algorithm'), 'no-such-algorithm');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.createJob', 42), 'id: must be an algorithm id');
  });

  it('modelarts.algorithms.delete (id) deletes without asking and returns {deleted: id}', async function () {
    await closeAlgorithmEditors();
    const before = (await api.algorithms.list()).length;
    assert.deepEqual(await vscode.commands.executeCommand('modelarts.algorithms.delete', id), { deleted: id });
    assert.equal(await api.algorithms.get(id), undefined);
    assert.equal((await api.algorithms.list()).length, before - 1);
    await rejectsNaming(vscode.commands.executeCommand('modelarts.algorithms.delete', id), id);
    const { algorithms } = await vscode.commands.executeCommand<{ algorithms: number }>('modelarts.algorithms.refresh');
    assert.equal(algorithms, before - 1);
  });
});
