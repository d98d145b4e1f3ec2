/**
 * The panels' own small component layer. Everything the views draw goes through these functions,
 * so @vscode/webview-ui-toolkit (deprecated upstream) can be swapped for another kit, or plain
 * elements, in this one file. Text always goes in as textContent: user data never becomes markup.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodePanels,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(
  vsCodeBadge(),
  vsCodeButton(),
  vsCodeDataGrid(),
  vsCodeDataGridCell(),
  vsCodeDataGridRow(),
  vsCodeDivider(),
  vsCodeDropdown(),
  vsCodeOption(),
  vsCodePanelTab(),
  vsCodePanelView(),
  vsCodePanels(),
  vsCodeTextField(),
);

type Child = Node | string | undefined | false;

/** A plain element with a class and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function button(label: string, onClick: () => void, options: { secondary?: boolean; title?: string; icon?: string } = {}): HTMLElement {
  const element = document.createElement('vscode-button');
  if (options.secondary) element.setAttribute('appearance', 'secondary');
  if (options.title) element.title = options.title;
  if (options.icon) {
    const icon = el('span', `codicon codicon-${options.icon}`);
    icon.setAttribute('slot', 'start');
    element.appendChild(icon);
  }
  append(element, label);
  element.addEventListener('click', onClick);
  return element;
}

export function badge(text: string, tone?: string): HTMLElement {
  const element = document.createElement('vscode-badge');
  if (tone) element.className = `tone-${tone}`;
  element.textContent = text;
  return element;
}

export interface Tab {
  readonly id: string;
  readonly label: string;
  readonly content: HTMLElement;
  /** A count shown beside the label. */
  readonly count?: HTMLElement;
}

/** Tabs (keyboard: arrow keys between tabs); `onChange` gets the id of the tab shown. */
export function tabs(items: readonly Tab[], active: string, onChange: (id: string) => void): HTMLElement {
  const panels = document.createElement('vscode-panels');
  panels.setAttribute('activeid', `tab-${active}`);
  for (const item of items) {
    const tab = document.createElement('vscode-panel-tab');
    tab.id = `tab-${item.id}`;
    append(tab, item.label, item.count);
    panels.appendChild(tab);
  }
  for (const item of items) {
    const view = document.createElement('vscode-panel-view');
    view.id = `view-${item.id}`;
    view.appendChild(item.content);
    panels.appendChild(view);
  }
  panels.addEventListener('change', () => {
    const id = ((panels as HTMLElement & { activeid?: string }).activeid ?? panels.getAttribute('activeid') ?? '').replace(/^tab-/, '');
    if (id) onChange(id);
  });
  return panels;
}

export function textField(placeholder: string, value: string, onInput: (value: string) => void, label?: string): HTMLElement {
  const field = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  field.setAttribute('placeholder', placeholder);
  if (label) field.setAttribute('aria-label', label);
  field.value = value;
  field.addEventListener('input', () => onInput(field.value));
  return field;
}

export function dropdown(options: ReadonlyArray<{ value: string; label: string }>, value: string, onChange: (value: string) => void, label: string): HTMLElement {
  const select = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  select.setAttribute('aria-label', label);
  for (const option of options) {
    const item = document.createElement('vscode-option') as HTMLElement & { value: string };
    item.setAttribute('value', option.value);
    item.textContent = option.label;
    if (option.value === value) item.setAttribute('selected', '');
    select.appendChild(item);
  }
  select.addEventListener('change', () => onChange(select.value));
  return select;
}

/** A data grid of text cells; `columns` gives the header and the CSS grid template. */
export function grid(columns: ReadonlyArray<{ title: string; width: string }>, rows: ReadonlyArray<ReadonlyArray<string>>, label: string): HTMLElement {
  const table = document.createElement('vscode-data-grid');
  table.setAttribute('aria-label', label);
  const template = columns.map((c) => c.width).join(' ');
  table.setAttribute('grid-template-columns', template);
  // The toolkit writes the columns as a style attribute, which the strict CSP refuses; CSSOM is allowed.
  const line = (type?: string) => {
    const row = document.createElement('vscode-data-grid-row');
    if (type) row.setAttribute('row-type', type);
    row.style.gridTemplateColumns = template;
    return row;
  };
  const header = line('sticky-header');
  columns.forEach((column, index) => header.appendChild(cell(column.title, index, 'columnheader')));
  table.appendChild(header);
  for (const row of rows) {
    const element = line();
    row.forEach((text, index) => element.appendChild(cell(text, index)));
    table.appendChild(element);
  }
  return table;
}

function cell(text: string, index: number, type?: string): HTMLElement {
  const element = document.createElement('vscode-data-grid-cell');
  element.setAttribute('grid-column', String(index + 1));
  if (type) element.setAttribute('cell-type', type);
  element.textContent = text;
  return element;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}

/** Label/value rows; values are text (or an element for actions). */
export function fields(rows: ReadonlyArray<readonly [string, string | HTMLElement]>): HTMLElement {
  const list = el('dl', 'fields');
  for (const [label, value] of rows) {
    const dd = el('dd');
    append(dd, value);
    append(list, el('dt', undefined, label), dd);
  }
  return list;
}
