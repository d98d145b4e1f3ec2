/**
 * Line charts with uPlot (small, fast, well kept), themed from VS Code's chart colours. A chart is
 * keyed: drawing the same key again replaces its data (and its series, when they changed).
 */
import uPlot from 'uplot';
import { el } from './components';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const PALETTE: ReadonlyArray<readonly [string, string]> = [
  ['--vscode-charts-blue', '#3794ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#89d185'],
  ['--vscode-charts-purple', '#b180d7'],
  ['--vscode-charts-red', '#f14c4c'],
  ['--vscode-charts-yellow', '#cca700'],
];

export function chartColor(index: number): string {
  const [name, fallback] = PALETTE[index % PALETTE.length] as readonly [string, string];
  return cssVar(name, fallback);
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  /** The x values are epoch seconds. */
  readonly time: boolean;
  /** One label and colour per line. */
  readonly lines: ReadonlyArray<{ readonly label: string; readonly color: string }>;
}

export class Charts {
  private readonly charts = new Map<string, { chart: uPlot; signature: string }>();

  /** Draws (or updates) the chart `key` in `into`; `data` is [x, ...one array per line]. */
  draw(into: HTMLElement, key: string, spec: ChartSpec, data: uPlot.AlignedData): void {
    const signature = spec.lines.map((line) => line.label).join('\u0000');
    const existing = this.charts.get(key);
    if (existing && existing.signature === signature) {
      existing.chart.setData(data);
      existing.chart.root.parentElement?.setAttribute('data-points', String(data[0].length));
      return;
    }
    const box = existing?.chart.root.parentElement ?? el('figure', 'chart');
    existing?.chart.destroy();
    if (!existing) {
      box.setAttribute('aria-label', spec.title);
      box.appendChild(el('figcaption', undefined, spec.title));
      into.appendChild(box);
    }
    const foreground = cssVar('--vscode-foreground', '#ccc');
    const gridColor = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)');
    const axis = { stroke: foreground, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const chart = new uPlot(
      {
        width: Math.max(300, Math.min(Math.floor((document.body.clientWidth - 64) / 2), 640)),
        height: 220,
        scales: { x: { time: spec.time } },
        axes: [{ ...axis, label: spec.xLabel }, axis],
        series: [{ label: spec.xLabel }, ...spec.lines.map((line) => ({ label: line.label, stroke: line.color, width: 2, points: { show: false }, spanGaps: true }))],
        legend: { show: true },
      },
      data,
      box,
    );
    // How many points it shows, for a reader that cannot see the canvas (and the tests).
    box.setAttribute('data-points', String(data[0].length));
    this.charts.set(key, { chart, signature });
  }
}

/**
 * Lines with different x values on one chart: uPlot wants one shared x array, so the union of the
 * steps, with null where a line has no point (drawn across by spanGaps).
 */
export function alignSeries(lines: ReadonlyArray<{ readonly x: readonly number[]; readonly y: readonly number[] }>): uPlot.AlignedData {
  const xs = [...new Set(lines.flatMap((line) => line.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((line) => {
    const column: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    line.x.forEach((x, i) => (column[index.get(x) as number] = line.y[i] as number));
    return column;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}
