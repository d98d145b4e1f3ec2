// Cloud job list: the first page (50 jobs) of a 2,000-job list on the ModelArts backend, against
// the ModelArts contract server (test/support/modelarts/, in this process) holding 2,000 finished
// jobs seeded with server.seedJobs (no containers). (a) `backend.searchJobs({page: 0})`, the page
// the jobs tree shows first; (b) `backend.listJobs()`, all pages one after another. Baseline in the
// same run, against the same server: a bare signed request of the same page (node:http with a
// keep-alive agent + our signRequest + JSON.parse, nothing else). Between the two, the layers of
// the backend's path, each timed on the network the same way and alternated with the others: the
// bare request through fetch (the backend's HTTP stack), HttpClient.send (+ authenticator, timeout
// signal, error handling: the answer JSON-parsed, not checked), HttpClient.call (+ zod). Then the
// backend's steps on one answer in-process (JSON.parse, zod, mapping) and the server's own time.
// Target: median ours / bare ≤ 1.5 on the first page (exit 0 met, 1 missed, 2 error).
//   node bench/cloudJobList.mjs [--jobs 2000] [--runs 30] [--warmup 10] [--list-runs 10]
import * as http from 'node:http';
import { median, numberOption, outModule, printTable, quantile, removeFolders, requireDocker, runIfMain, verdict } from './common.mjs';

const TARGET_RATIO = 1.5;
const JOBS = numberOption('--jobs', 2000);
const RUNS = numberOption('--runs', 30);
const WARMUP = numberOption('--warmup', 10);
const LIST_RUNS = numberOption('--list-runs', 10);
const PAGE_SIZE = 50;

async function time(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/**
 * `runs` timings of each of `fns` (name → fn), in an order that alternates between runs. With a
 * journal, also the server's time of each fn's last request (cleared after each, so the journal
 * does not grow).
 */
async function alternate(runs, fns, journal) {
  const names = Object.keys(fns);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const server = Object.fromEntries(names.map((n) => [n, []]));
  for (let run = 0; run < runs; run += 1) {
    const order = run % 2 ? [...names].reverse() : names;
    for (const name of order) {
      times[name].push((await time(fns[name])).ms);
      if (!journal) continue;
      const last = journal.entries.at(-1);
      if (last) server[name].push(last.durationMs);
      journal.clear();
    }
  }
  return journal ? { times, server } : times;
}

export async function run({ jobs = JOBS, runs = RUNS, warmup = WARMUP, listRuns = LIST_RUNS } = {}) {
  requireDocker();
  const { startCloudFixture } = outModule('test/support/modelartsFixture');
  const { signRequest } = outModule('src/backends/modelarts/signer');
  const { jobSearchSchema } = outModule('src/backends/modelarts/schemas');
  const { jobFromCloud } = outModule('src/backends/modelarts/jobMapping');
  const { withLiveDuration } = outModule('src/core/job');

  const fx = await startCloudFixture();
  const agent = new http.Agent({ keepAlive: true });
  try {
    const seeded = time(async () => fx.server.seedJobs(jobs));
    const seedMs = (await seeded).ms;
    const backend = fx.backend();
    const state = await backend.connect();
    if (state.kind !== 'available') throw new Error(`the backend did not connect: ${JSON.stringify(state)}`);

    // The bare request: what the backend's search sends, signed with the same signer.
    const searchUrl = `${fx.server.url}/v2/${fx.server.projectId}/training-job-searches`;
    const credentials = { accessKey: fx.credentials.accessKey, secretKey: fx.credentials.secretKey };
    const signed = (page) => {
      const body = JSON.stringify({ offset: page, limit: PAGE_SIZE, sort_by: 'create_time', order: 'desc' });
      const headers = signRequest({ method: 'POST', url: searchUrl, headers: { 'Content-Type': 'application/json' }, body }, credentials, new Date());
      return { body, headers };
    };
    const bareText = (page) =>
      new Promise((resolve, reject) => {
        const { body, headers } = signed(page);
        const request = http.request(searchUrl, { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, agent }, (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`bare search answered ${res.statusCode}`))));
          res.on('error', reject);
        });
        request.on('error', reject);
        request.end(body);
      });
    const bare = async (page = 0) => JSON.parse(await bareText(page));
    const bareFetch = async (page = 0) => {
      const { body, headers } = signed(page);
      delete headers.Host; // fetch sets Host from the URL, as the backend's client relies on
      const response = await fetch(searchUrl, { method: 'POST', headers, body });
      if (response.status !== 200) throw new Error(`bare fetch search answered ${response.status}`);
      return JSON.parse(await response.text());
    };
    // The backend's own layers (TypeScript-private, reachable from JS): its HTTP client and the
    // request its API module builds for the first page.
    const client = backend.session.client;
    const firstPage = { operation: 'ListTrainingJobs', method: 'POST', url: searchUrl, body: { offset: 0, limit: PAGE_SIZE, sort_by: 'create_time', order: 'desc' }, idempotent: true };
    const clientSend = async () => (await client.send(firstPage)).body;
    const clientCall = () => client.call(firstPage, jobSearchSchema);
    const ours = () => backend.searchJobs({ page: 0 });

    // Both sides see the same first page.
    const [mine, theirs] = [await ours(), await bare()];
    if (mine.jobs.length !== PAGE_SIZE || !mine.more) throw new Error(`searchJobs gave ${mine.jobs.length} jobs, more=${mine.more}`);
    if (theirs.total !== jobs || mine.jobs.map((j) => j.metadata.id).join() !== theirs.items.map((j) => j.metadata.id).join()) throw new Error('ours and bare disagree on the first page');
    if ((await clientSend()).items.length !== PAGE_SIZE) throw new Error('HttpClient.send did not give the page');

    // (a) the first page.
    const lanes = { ours, bare, bareFetch, clientSend, clientCall };
    await alternate(warmup, lanes, fx.server.journal);
    const { times: page, server: serverMs } = await alternate(runs, lanes, fx.server.journal);

    // (b) the whole list.
    const bareAll = async () => {
      const all = [];
      for (let p = 0; ; p += 1) {
        const answer = await bare(p);
        all.push(...answer.items);
        if (answer.items.length < PAGE_SIZE) return all;
      }
    };
    const listed = await backend.listJobs();
    if (listed.length !== jobs || new Set(listed.map((j) => j.metadata.id)).size !== jobs) throw new Error(`listJobs gave ${listed.length} jobs`);
    if ((await bareAll()).length !== jobs) throw new Error('the bare list is not complete');
    const list = await alternate(listRuns, { ours: () => backend.listJobs(), bare: bareAll });
    fx.server.journal.clear();

    // The backend's steps on one answer, in-process (no network): what ours adds to bare.
    const text = await bareText(0);
    const parsed = JSON.parse(text);
    const steps = await alternate(runs, {
      parse: () => JSON.parse(text),
      zod: () => jobSearchSchema.parse(parsed),
      map: () => jobSearchSchema.parse(parsed).items.map((item) => jobFromCloud(item, 'ListTrainingJobs')),
      sign: () => signed(0),
    });
    const items = jobSearchSchema.parse(parsed).items;
    const mapOnly = await alternate(runs, { map: () => items.map((item) => withLiveDuration(jobFromCloud(item, 'ListTrainingJobs'), Date.now())) });
    backend.dispose();

    const row = (label, values) => [label, median(values), quantile(values, 0.9), Math.min(...values), Math.max(...values)];
    const ratio = median(page.ours) / median(page.bare);
    printTable(
      `Cloud job list: first page (${PAGE_SIZE}) of ${jobs.toLocaleString('en-US')} seeded jobs on the contract server (ms; ${runs} runs after ${warmup} warm-up; seeded in ${seedMs.toFixed(0)} ms; answer ${(text.length / 1024).toFixed(0)} KiB)`,
      ['measure', 'median', 'p90', 'min', 'max'],
      [
        row('(a) ours: backend.searchJobs({page: 0})', page.ours),
        row('    baseline: bare signed node:http + JSON.parse', page.bare),
        row('    bare signed fetch + JSON.parse', page.bareFetch),
        row('    HttpClient.send (fetch, no zod)', page.clientSend),
        row('    HttpClient.call (+ zod)', page.clientCall),
        row('    of ours: the server (journal, 1 ms steps)', serverMs.ours),
        row('    of bare: the server', serverMs.bare),
        row(`(b) ours: backend.listJobs() (${Math.ceil((jobs + 1) / PAGE_SIZE)} pages, ${listRuns} runs)`, list.ours),
        row('    baseline: bare node:http, page after page', list.bare),
        ['steps on one answer (in-process):', '', '', '', ''],
        row('    JSON.parse of the answer', steps.parse),
        row('    zod jobSearchSchema.parse', steps.zod),
        row('    zod + jobFromCloud of 50 items', steps.map),
        row('    jobFromCloud + withLiveDuration (no zod)', mapOnly.map),
        row('    signRequest (body JSON.stringify + sign)', steps.sign),
      ],
    );
    console.log(
      `\nratios (median ours / bare): first page ${ratio.toFixed(2)} (vs bare fetch ${(median(page.ours) / median(page.bareFetch)).toFixed(2)}), ` +
        `whole list ${(median(list.ours) / median(list.bare)).toFixed(2)}`,
    );
    const m = Object.fromEntries(Object.entries(page).map(([name, values]) => [name, median(values)]));
    console.log(
      `where ours − bare (${(m.ours - m.bare).toFixed(2)} ms) goes, by the medians of the layers: fetch instead of node:http ${(m.bareFetch - m.bare).toFixed(2)}, ` +
        `HttpClient around fetch ${(m.clientSend - m.bareFetch).toFixed(2)}, zod ${(m.clientCall - m.clientSend).toFixed(2)}, ` +
        `mapping + backend ${(m.ours - m.clientCall).toFixed(2)} ms`,
    );
    const ok = ratio <= TARGET_RATIO;
    console.log(`target: first page median ours / bare ≤ ${TARGET_RATIO}: ${verdict(ok)} (${ratio.toFixed(2)})`);
    return { ok };
  } finally {
    agent.destroy();
    await fx.stop();
    outModule('test/support/jobs').removeFolders(); // the fixture's state folder
    removeFolders();
  }
}

runIfMain(import.meta.url, run);
