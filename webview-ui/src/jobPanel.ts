/**
 * The job details panel's front end: overview, events and metrics of one training job, drawn
 * from the host's messages (checked with the shared zod protocol). Only UI state (tab, event
 * filters) is kept with setState; the data always comes from the host.
 */
import { hostMessageSchema, panelStateSchema, type HostMessage, type PanelAction, type PanelState } from '../../src/panels/protocol';
import type { TrainingJob } from '../../src/core/job';
import type { JobEvent } from '../../src/core/jobEvent';
import { Charts, chartColor } from './charts';
import { append, badge, button, dropdown, el, fields, grid, tabs, textField } from './components';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') as HTMLElement;
const jobId = decodeURIComponent(root.dataset.jobId ?? '');
const backend = decodeURIComponent(root.dataset.backend ?? 'local');
const saved = panelStateSchema.safeParse(vscode.getState());
// The state names the job's backend, so a reload restores the right backend's job.
let state: PanelState = saved.success && saved.data.jobId === jobId ? { ...saved.data, backend } : panelStateSchema.parse({ jobId, backend });

const ACTION_LABELS: Record<PanelAction, string> = {
  stop: 'Stop',
  copy: 'Copy',
  delete: 'Delete',
  saveAsAlgorithm: 'Save as Algorithm',
  showLogs: 'Show Logs',
};
/** Rows drawn at once in the events grid; more on request. */
const EVENTS_PAGE = 300;

let job: Extract<HostMessage, { type: 'job' }> | undefined;
let events: JobEvent[] = [];
let eventsShown = EVENTS_PAGE;
const metricSeries = new Map<string, { steps: number[]; values: number[]; stepName: string }>();
const resourceSeries = new Map<string, { times: number[]; cpuPercent: number[]; memoryBytes: number[] }>();
const charts = new Charts();

// The parts of the page, built once and refilled.
const header = el('header', 'job-header');
const overview = el('section', 'overview');
const eventsView = el('section', 'events');
const eventsGrid = el('div', 'events-grid');
const eventsCount = badge('0');
const metricsView = el('section', 'metrics');
const trainingCharts = el('div', 'charts');
const resourceCharts = el('div', 'charts');
const removed = el('p', 'removed');
const logTail = el('pre', 'log-tail');

function saveState(change: Partial<PanelState>): void {
  state = { ...state, ...change };
  vscode.setState(state);
}

function layout(): void {
  const filters = el(
    'div',
    'filters',
    dropdown(
      [
        { value: 'all', label: 'All levels' },
        { value: 'Info', label: 'Info' },
        { value: 'Warning', label: 'Warning' },
        { value: 'Error', label: 'Error' },
      ],
      state.eventLevel,
      (value) => {
        saveState({ eventLevel: value as PanelState['eventLevel'] });
        eventsShown = EVENTS_PAGE;
        renderEvents();
      },
      'Event level',
    ),
    textField('Filter events', state.eventText, (value) => {
      saveState({ eventText: value.slice(0, 200) });
      eventsShown = EVENTS_PAGE;
      renderEvents();
    }, 'Filter events by text'),
  );
  append(eventsView, filters, eventsGrid);
  append(metricsView, el('h2', undefined, 'Training metrics'), trainingCharts, el('h2', undefined, 'CPU and memory'), resourceCharts);
  const tabbed = tabs(
    [
      { id: 'overview', label: 'Overview', content: overview },
      { id: 'events', label: 'Events', content: eventsView, count: eventsCount },
      { id: 'metrics', label: 'Metrics', content: metricsView },
    ],
    state.tab,
    (id) => {
      saveState({ tab: id as PanelState['tab'] });
      if (id === 'events' && eventsStale) renderEvents();
    },
  );
  append(root, header, removed, tabbed);
}

// ---- Overview -------------------------------------------------------------------------------

function formatTime(ms: number): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}

function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${(ms / 1000).toFixed(1)}s`;
}

function liveDuration(current: TrainingJob): number {
  const running = current.status.phase === 'Running' && current.status.start_time > 0;
  return running ? Math.max(current.status.duration, Date.now() - current.status.start_time) : current.status.duration;
}

function phaseTone(phase: string): string {
  return phase === 'Completed' ? 'ok' : phase === 'Failed' || phase === 'Abnormal' ? 'error' : phase === 'Running' ? 'running' : 'idle';
}

function renderHeader(): void {
  header.replaceChildren();
  if (!job) return;
  const current = job.job;
  const phase = el('span', `phase tone-${phaseTone(current.status.phase)}`, current.status.phase);
  phase.setAttribute('role', 'status');
  const secondary = current.status.secondary_phase !== current.status.phase ? el('span', 'secondary', current.status.secondary_phase) : undefined;
  const actions = el('div', 'actions');
  for (const action of job.actions) {
    actions.appendChild(button(ACTION_LABELS[action], () => vscode.postMessage({ type: 'action', action }), { secondary: action !== 'stop' }));
  }
  append(header, el('h1', undefined, current.metadata.name), el('div', 'status', phase, secondary, el('span', 'duration', formatDuration(liveDuration(current)))), actions);
}

function renderOverview(): void {
  overview.replaceChildren();
  if (!job) return;
  const { algorithm, metadata, spec, status } = job.job;
  const engine = algorithm.engine.engine_name ? `${algorithm.engine.engine_name} ${algorithm.engine.engine_version ?? ''}`.trim() : 'custom image';
  append(
    overview,
    metadata.description ? el('p', 'description', metadata.description) : undefined,
    fields([
      ['ID', metadata.id],
      ['Phase', status.secondary_phase !== status.phase ? `${status.phase} (${status.secondary_phase})` : status.phase],
      ['Created', formatTime(metadata.create_time)],
      ['Started', formatTime(status.start_time)],
      ['Duration', formatDuration(liveDuration(job.job))],
      ['Runs on', job.backend],
      ['Engine', [engine, algorithm.engine.image_url].filter(Boolean).join(' · ')],
      ['Flavor', `${spec.resource.flavor_name ?? spec.resource.flavor_id} × ${spec.resource.node_count}`],
      ['Code', algorithm.code_dir || '—'],
      ['Boot file', algorithm.boot_file || algorithm.command || '—'],
      ['Command', el('code', 'command', job.command.join(' '))],
    ]),
    el('h2', undefined, 'Hyperparameters'),
    algorithm.parameters.length
      ? grid([{ title: 'Name', width: '1fr' }, { title: 'Value', width: '2fr' }], algorithm.parameters.map((p) => [p.name, p.value ?? '']), 'Hyperparameters')
      : el('p', 'empty', 'None'),
    el('h2', undefined, 'Inputs and outputs'),
    channels(),
    el('h2', undefined, 'Tasks'),
    grid(
      [{ title: 'Task', width: '1fr' }, { title: 'Exit code', width: '1fr' }, { title: 'Message', width: '3fr' }],
      status.tasks.map((task) => {
        const taskStatus = status.task_statuses.find((t) => t.task === task);
        return [task, taskStatus?.exit_code === undefined ? '—' : String(taskStatus.exit_code), taskStatus?.message ?? ''];
      }),
      'Tasks',
    ),
    status.running_records.length > 1 || status.running_records.some((r) => r.start_type === 'restarted') ? el('h2', undefined, 'Runs') : undefined,
    status.running_records.length > 1 || status.running_records.some((r) => r.start_type === 'restarted')
      ? grid(
          [{ title: 'Started', width: '2fr' }, { title: 'Ended', width: '2fr' }, { title: 'Start', width: '1fr' }, { title: 'Why it ended', width: '3fr' }],
          status.running_records.map((r) => [formatTime(r.start_at), r.end_at ? formatTime(r.end_at) : '—', r.start_type, [r.end_reason, r.end_related_task].filter(Boolean).join(' · ')]),
          'Runs',
        )
      : undefined,
    el('h2', undefined, 'Recent log (worker-0)'),
    logTail,
    Object.keys(metadata.annotations).length ? el('h2', undefined, 'Annotations') : undefined,
    Object.keys(metadata.annotations).length
      ? grid([{ title: 'Key', width: '1fr' }, { title: 'Value', width: '2fr' }], Object.entries(metadata.annotations), 'Annotations')
      : undefined,
  );
}

function channels(): HTMLElement {
  if (!job) return el('div');
  const list = el('div', 'channels');
  const { inputs, outputs } = job.job.algorithm;
  const row = (kind: 'input' | 'output', name: string, location: string, path: string) =>
    el(
      'div',
      'channel',
      el('span', 'channel-kind', kind === 'input' ? 'Input' : 'Output'),
      el('span', 'channel-name', name),
      el('span', 'channel-location', location),
      el('code', 'channel-path', path),
      button('Reveal', () => vscode.postMessage({ type: 'reveal', kind, name }), { secondary: true, title: `Reveal ${name}` }),
    );
  for (const input of inputs) list.appendChild(row('input', input.name, input.remote.obs?.obs_url ?? input.remote.dataset?.id ?? '', input.local_dir ?? ''));
  for (const output of outputs) list.appendChild(row('output', output.name, output.remote?.obs.obs_url ?? 'kept with the job', output.local_dir ?? ''));
  if (!inputs.length && !outputs.length) list.appendChild(el('p', 'empty', 'None'));
  return list;
}

// ---- Events ---------------------------------------------------------------------------------

/** The grid is built when the Events tab is shown (the count always follows). */
let eventsStale = false;

function renderEvents(): void {
  eventsCount.textContent = String(events.length);
  if (state.tab !== 'events') {
    eventsStale = true;
    return;
  }
  eventsStale = false;
  const text = state.eventText.toLowerCase();
  const matching: JobEvent[] = [];
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as JobEvent;
    if (state.eventLevel !== 'all' && event.level !== state.eventLevel) continue;
    if (text && !event.message.toLowerCase().includes(text) && !event.source.toLowerCase().includes(text)) continue;
    matching.push(event);
  }
  const shown = matching.slice(0, eventsShown);
  const table = grid(
    [{ title: 'Time', width: '14em' }, { title: 'Level', width: '6em' }, { title: 'Source', width: '6em' }, { title: 'Message', width: '1fr' }],
    shown.map((event) => [event.time.replace('T', ' ').slice(0, 23), event.level, event.source, event.message]),
    'Job events, newest first',
  );
  const more = matching.length > shown.length ? button(`Show ${Math.min(EVENTS_PAGE, matching.length - shown.length)} more of ${matching.length - shown.length}`, () => {
    eventsShown += EVENTS_PAGE;
    renderEvents();
  }, { secondary: true }) : undefined;
  eventsGrid.replaceChildren(el('p', 'summary', `${matching.length} of ${events.length} events`), table);
  if (more) eventsGrid.appendChild(more);
}

// ---- Metrics --------------------------------------------------------------------------------

function renderMetrics(): void {
  if (!metricSeries.size && !trainingCharts.querySelector('.empty')) {
    trainingCharts.appendChild(el('p', 'empty', 'None yet: log lines such as "epoch 3 loss 0.41 acc 0.88", "loss=0.41" or JSON lines become charts (the setting modelarts.metrics.pattern reads other formats).'));
  }
  if (metricSeries.size) trainingCharts.querySelector('.empty')?.remove();
  if (!resourceSeries.size && !resourceCharts.querySelector('.empty')) resourceCharts.appendChild(el('p', 'empty', 'Sampled while the job runs.'));
  if (resourceSeries.size) resourceCharts.querySelector('.empty')?.remove();
  let index = 0;
  for (const [metric, series] of metricSeries) {
    charts.draw(trainingCharts, `m:${metric}`, { title: metric, xLabel: series.stepName, time: false, lines: [{ label: metric, color: chartColor(index++) }] }, [series.steps, series.values]);
  }
  for (const [task, series] of resourceSeries) {
    const times = series.times.map((t) => t / 1000);
    charts.draw(resourceCharts, `cpu:${task}`, { title: `CPU % (${task})`, xLabel: 'time', time: true, lines: [{ label: 'CPU %', color: chartColor(4) }] }, [times, series.cpuPercent]);
    const memory = series.memoryBytes.map((b) => b / 1048576);
    charts.draw(resourceCharts, `mem:${task}`, { title: `Memory MiB (${task})`, xLabel: 'time', time: true, lines: [{ label: 'MiB', color: chartColor(2) }] }, [times, memory]);
  }
}

// ---- Messages -------------------------------------------------------------------------------

function receive(message: HostMessage): void {
  switch (message.type) {
    case 'job':
      job = message;
      removed.textContent = ''; // a notice that the backend could not answer is over
      removed.classList.remove('waiting');
      renderHeader();
      renderOverview();
      break;
    case 'events':
      events = message.reset ? message.events : events.concat(message.events);
      renderEvents();
      break;
    case 'metrics':
      if (message.reset) {
        metricSeries.clear();
        resourceSeries.clear();
      }
      // concat, not push(...): a series may hold 100,000 points.
      for (const series of message.series) {
        const into = metricSeries.get(series.metric);
        metricSeries.set(series.metric, into ? { steps: into.steps.concat(series.steps), values: into.values.concat(series.values), stepName: into.stepName } : { steps: series.steps, values: series.values, stepName: series.stepName });
      }
      for (const series of message.resources) {
        const into = resourceSeries.get(series.task);
        resourceSeries.set(
          series.task,
          into
            ? { times: into.times.concat(series.times), cpuPercent: into.cpuPercent.concat(series.cpuPercent), memoryBytes: into.memoryBytes.concat(series.memoryBytes) }
            : { times: series.times, cpuPercent: series.cpuPercent, memoryBytes: series.memoryBytes },
        );
      }
      renderMetrics();
      break;
    case 'logTail':
      logTail.textContent = message.lines.join('\n');
      break;
    case 'removed':
      removed.textContent = 'This training job was deleted.';
      removed.classList.remove('waiting');
      header.querySelector('.actions')?.replaceChildren();
      break;
    case 'unreachable':
      removed.textContent = message.message;
      removed.classList.add('waiting');
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = hostMessageSchema.safeParse(event.data);
  if (!parsed.success) {
    console.warn('ignoring a malformed message from the extension', parsed.error.issues);
    return;
  }
  receive(parsed.data);
});

// A running job's duration ticks here, without messages.
setInterval(() => {
  if (job?.job.status.phase !== 'Running') return;
  const duration = header.querySelector('.duration');
  if (duration) duration.textContent = formatDuration(liveDuration(job.job));
}, 1000);

layout();
vscode.setState(state);
vscode.postMessage({ type: 'ready' });
