/**
 * A view whose content is its welcome state: the Algorithms and Datasets views show what they
 * are for and how to fill them until the engine offers algorithms and datasets.
 */
import type * as vscode from 'vscode';

export class WelcomeOnlyTreeProvider implements vscode.TreeDataProvider<never> {
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }

  getChildren(): never[] {
    return [];
  }
}
