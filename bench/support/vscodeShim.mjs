// The part of the `vscode` module that src/views/jobsModel.ts and src/views/jobsTree.ts use, for
// running them in plain Node (bench/jobsTree.mjs bundles them with `vscode` aliased to this file).
// Each class does what VS Code 1.100's own does (src/vs/workbench/api/common/extHostTypes.ts and
// vs/base/common/event.ts): it stores what it is given, MarkdownString concatenates, EventEmitter
// delivers synchronously to every listener. Nothing is cached or skipped, so the benchmark pays
// for every object our code builds, as it would in the extension host.

export class Disposable {
  static from(...disposables) {
    return new Disposable(() => {
      for (const d of disposables) d?.dispose();
    });
  }
  #callOnDispose;
  constructor(callOnDispose) {
    this.#callOnDispose = callOnDispose;
  }
  dispose() {
    if (typeof this.#callOnDispose === 'function') {
      this.#callOnDispose();
      this.#callOnDispose = undefined;
    }
  }
}

export class EventEmitter {
  #listeners = new Set();
  #disposed = false;
  event = (listener, thisArgs, disposables) => {
    const entry = thisArgs ? listener.bind(thisArgs) : listener;
    if (this.#disposed) return new Disposable(() => undefined);
    this.#listeners.add(entry);
    const subscription = new Disposable(() => this.#listeners.delete(entry));
    if (Array.isArray(disposables)) disposables.push(subscription);
    return subscription;
  };
  fire(data) {
    for (const listener of [...this.#listeners]) {
      try {
        listener(data);
      } catch (error) {
        // VS Code's Emitter reports a listener's error and goes on with the others.
        console.error(error);
      }
    }
  }
  dispose() {
    this.#disposed = true;
    this.#listeners.clear();
  }
}

export const TreeItemCollapsibleState = Object.freeze({ None: 0, Collapsed: 1, Expanded: 2 });

export class TreeItem {
  constructor(labelOrUri, collapsibleState = TreeItemCollapsibleState.None) {
    if (labelOrUri && typeof labelOrUri === 'object' && 'scheme' in labelOrUri) this.resourceUri = labelOrUri;
    else this.label = labelOrUri;
    this.collapsibleState = collapsibleState;
  }
}

export class ThemeColor {
  constructor(id) {
    this.id = id;
  }
}

export class ThemeIcon {
  static File = new ThemeIcon('file');
  static Folder = new ThemeIcon('folder');
  constructor(id, color) {
    this.id = id;
    this.color = color;
  }
}

export class MarkdownString {
  constructor(value = '', supportThemeIcons = false) {
    this.value = value;
    this.isTrusted = undefined;
    this.supportThemeIcons = supportThemeIcons;
    this.supportHtml = false;
    this.baseUri = undefined;
  }
  appendText(value) {
    // VS Code's escapeMarkdownSyntaxTokens, then its line-break and leading-space handling.
    this.value += value
      .replace(/[\\`*_{}[\]()#+\-!~]/g, '\\$&')
      .replace(/([ \t]+)/g, (_, g1) => '&nbsp;'.repeat(g1.length))
      .replace(/\n/g, '\n\n');
    return this;
  }
  appendMarkdown(value) {
    this.value += value;
    return this;
  }
  appendCodeblock(code, language = '') {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}
