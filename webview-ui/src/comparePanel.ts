/**
 * The compare panel's front end: one chart per metric, one line per job (the jobs' colours follow
 * their order), updated as the host posts each job's new points.
 */
import { compareHostMessageSchema, type CompareHostMessage } from '../../src/panels/protocol';
import { Charts, alignSeries, chartColor } from './charts';
import { append, el } from './components';

interface VsCodeApi {
  postMessage(message: unknown): void;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') as HTMLElement;
const legend = el('div', 'compare-jobs');
const chartsBox = el('div', 'charts');
const empty = el('p', 'empty', 'No metrics in these jobs\' logs yet.');
append(root, el('h1', undefined, 'Compare Metrics'), legend, chartsBox, empty);

let jobs: Extract<CompareHostMessage, { type: 'jobs' }>['jobs'] = [];
/** metric → job id → points */
const metrics = new Map<string, Map<string, { steps: number[]; values: number[]; stepName: string }>>();
const charts = new Charts();
let drawScheduled = false;

function draw(): void {
  drawScheduled = false;
  empty.hidden = metrics.size > 0;
  for (const [metric, byJob] of metrics) {
    const shown = jobs.map((job, index) => ({ job, index, points: byJob.get(job.id) })).filter((entry) => entry.points);
    if (!shown.length) continue;
    charts.draw(
      chartsBox,
      metric,
      { title: metric, xLabel: shown[0]?.points?.stepName ?? 'step', time: false, lines: shown.map(({ job, index }) => ({ label: job.name, color: chartColor(index) })) },
      alignSeries(shown.map(({ points }) => ({ x: points?.steps ?? [], y: points?.values ?? [] }))),
    );
  }
}

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(draw);
}

function receive(message: CompareHostMessage): void {
  if (message.type === 'jobs') {
    jobs = message.jobs;
    vscode.setState(message.state);
    legend.replaceChildren(
      ...jobs.map((job, index) => {
        const swatch = el('span', 'swatch');
        swatch.style.backgroundColor = chartColor(index);
        return el('span', 'compare-job', swatch, `${job.name} (${job.phase})`);
      }),
    );
    scheduleDraw();
    return;
  }
  for (const series of message.series) {
    let byJob = metrics.get(series.metric);
    if (!byJob) metrics.set(series.metric, (byJob = new Map()));
    const into = message.reset ? undefined : byJob.get(message.jobId);
    byJob.set(message.jobId, into ? { steps: into.steps.concat(series.steps), values: into.values.concat(series.values), stepName: into.stepName } : { steps: series.steps, values: series.values, stepName: series.stepName });
  }
  scheduleDraw();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = compareHostMessageSchema.safeParse(event.data);
  if (parsed.success) receive(parsed.data);
  else console.warn('ignoring a malformed message from the extension', parsed.error.issues);
});

vscode.postMessage({ type: 'ready' });
