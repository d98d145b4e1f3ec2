import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Where a panel's bundle lives; the only folder its webview may load from. */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/**
 * A panel's page: the shared stylesheet and the panel's script from dist/webview through
 * asWebviewUri, under a strict CSP (nothing inline; the one script and stylesheet by nonce).
 * `data` becomes the app element's data attributes (URI-encoded: no markup from values).
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, options: { readonly script: string; readonly title: string; readonly data: Readonly<Record<string, string>> }): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot(extensionUri), file)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const data = Object.entries(options.data)
    .map(([key, value]) => ` data-${key.replace(/[^a-z-]/g, '')}="${encodeURIComponent(value)}"`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${asset('jobPanel.css')}">
<title>${options.title.replace(/[<>&"]/g, '')}</title>
</head>
<body>
<main id="app"${data}></main>
<script nonce="${nonce}" src="${asset(options.script)}"></script>
</body>
</html>`;
}
