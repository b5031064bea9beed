#!/usr/bin/env node
// k6-shim: runs k6 scripts on Node.js where no k6 binary exists (see loadtest/k6-shim/README.md).
//   k6-shim run [-e K=V]... [--summary-export F] [--timeseries F] [--fail-on-iteration-errors] script.js
//   k6-shim inspect [-e K=V]... script.js      resolved scenarios and thresholds, then exit
// Exit codes follow k6: 0 ok, 99 thresholds failed, 107 script error (init/setup/teardown),
// 108 iterations threw (only with --fail-on-iteration-errors).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { register } from 'node:module';
import { Registry, NormalizeThresholds, EvalThreshold, ParseDuration } from '../lib/metrics.mjs';
import { NormalizeScenarios, ArrivalsUntil, DueTime, RateAt, VUsAt } from '../lib/executors.mjs';
import { BuildSummary, TextSummary } from '../lib/summary.mjs';
import { LocalVU } from '../lib/local-vu.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shimRoot = path.resolve(here, '..');
const now = () => performance.timeOrigin + performance.now();
const log = (...a) => process.stderr.write(`[k6-shim] ${a.join(' ')}\n`);

// ---- command line ---------------------------------------------------------------------------
function ParseArgs(argv) {
  const a = { cmd: argv[0], env: {}, script: null, summaryExport: null, timeseries: null, failOnIterErrors: false, quiet: false };
  for (let i = 1; i < argv.length; i++) {
    const x = argv[i];
    if (x === '-e' || x === '--env') { const [k, ...v] = argv[++i].split('='); a.env[k] = v.join('='); }
    else if (x === '--summary-export') a.summaryExport = argv[++i];
    else if (x === '--timeseries') a.timeseries = argv[++i];
    else if (x === '--fail-on-iteration-errors') a.failOnIterErrors = true;
    else if (x === '-q' || x === '--quiet') a.quiet = true;
    else if (!x.startsWith('-') && !a.script) a.script = x;
    else { log(`unknown argument ${x}`); process.exit(2); }
  }
  if (!['run', 'inspect'].includes(a.cmd) || !a.script) {
    log('usage: k6-shim run|inspect [-e K=V]... [--summary-export F] [--timeseries F] [--fail-on-iteration-errors] script.js');
    process.exit(2);
  }
  return a;
}
const args = ParseArgs(process.argv.slice(2));
// k6 gives scripts the caller's environment too (unless --include-system-env-vars=false)
const env = { ...process.env, ...args.env };

// The script's folder, copied next to a node_modules/k6 that points at the shim's modules, so
// `import http from 'k6/http'` resolves without loader hooks and the source stays untouched.
function StageScript(script) {
  const abs = path.resolve(script);
  const dir = path.dirname(abs);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-shim-'));
  fs.cpSync(dir, tmp, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) && !src.includes(`${path.sep}.git`) });
  fs.writeFileSync(path.join(tmp, 'package.json'), '{"type":"module"}\n');
  fs.mkdirSync(path.join(tmp, 'node_modules'));
  fs.symlinkSync(path.join(shimRoot, 'k6'), path.join(tmp, 'node_modules', 'k6'), 'dir');
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  return { tmp, url: pathToFileURL(path.join(tmp, path.basename(abs))).href };
}
const staged = StageScript(args.script);
const scriptUrl = staged.url;

// VU mode. "local" (default): every VU in this thread, the staged script rewritten so its
// blocking calls are awaited (lib/transform.mjs); a VU then costs a module instance, not a
// thread. "threads": one worker thread per VU, the script untouched (the fallback when the
// rewrite finds something it cannot keep the meaning of). K6_SHIM_VU_MODE=threads forces it.
function ChooseMode() {
  if ((env.K6_SHIM_VU_MODE || 'local') === 'threads') return 'threads';
  let res;
  try {
    res = JSON.parse(execFileSync(process.execPath, [path.join(shimRoot, 'lib', 'transform.mjs'), staged.tmp], { encoding: 'utf8' }));
  } catch (e) {
    log(`script rewrite failed (${String(e.message).split('\n')[0]}): one thread per VU`);
    return 'threads';
  }
  if (!res.ok) {
    log(`the script needs one thread per VU: ${res.unsupported.join('; ')}`);
    return 'threads';
  }
  register(pathToFileURL(path.join(shimRoot, 'lib', 'esm-hooks.mjs')), {
    data: { roots: [pathToFileURL(staged.tmp).href + '/', pathToFileURL(path.join(shimRoot, 'k6')).href + '/', pathToFileURL(fs.realpathSync(path.join(shimRoot, 'k6'))).href + '/'] },
  });
  return 'local';
}
const mode = ChooseMode();

// ---- shared state ---------------------------------------------------------------------------
const testStart = Date.now();
let reg, thresholds, scenarios, options;
const counters = new SharedArrayBuffer(4 * 64);
const ctl = new SharedArrayBuffer(4 * 20000);
const scenarioIndex = {};
const ioThreads = [];
const vus = []; // {id, worker, sc, busy, ready}
let nextVuId = 1, aborted = null, iterErrors = 0;
const iterErrorSamples = [];

function StartIO(n) {
  for (let i = 0; i < n; i++) {
    const w = new Worker(path.join(shimRoot, 'lib', 'io-worker.mjs'));
    w.on('message', (m) => { if (m.type === 'http') IngestHttp(m.batch); else if (m.type === 'flushed') flushWaiters.get(m.id)?.(); });
    w.on('error', (e) => { log('I/O thread failed:', e.stack || e); process.exit(1); });
    ioThreads.push(w);
  }
}
const flushWaiters = new Map();
function FlushIO() {
  return Promise.all(ioThreads.map((w, i) => new Promise((res) => { const id = `${i}:${Math.random()}`; flushWaiters.set(id, res); w.postMessage({ type: 'flush', id }); })));
}

function IngestHttp(batch) {
  for (const record of batch) IngestRecord(record);
}
function IngestRecord([t, tags, tm, failed, bytesIn, bytesOut]) {
  {
    reg.add('http_reqs', 'counter', 1, tags, t);
    reg.add('http_req_duration', 'trend', tm.duration, tags, t);
    reg.add('http_req_waiting', 'trend', tm.waiting, tags);
    reg.add('http_req_connecting', 'trend', tm.connecting, tags);
    reg.add('http_req_blocked', 'trend', tm.blocked, tags);
    reg.add('http_req_sending', 'trend', tm.sending, tags);
    reg.add('http_req_receiving', 'trend', tm.receiving, tags);
    reg.add('http_req_tls_handshaking', 'trend', 0, tags);
    reg.add('http_req_failed', 'rate', failed, tags, t);
    reg.add('data_received', 'counter', bytesIn, tags);
    reg.add('data_sent', 'counter', bytesOut, tags);
  }
}

function IngestSamples(samples) {
  for (const [name, type, value, tags, t, isTime] of samples) {
    if (name === '__check') reg.addCheck(tags.group || '', tags.check, value === 1, t);
    else reg.add(name, type, value, tags, t, isTime);
  }
}

const localHost = {
  scriptUrl, env, counters, ctl, scenarioIndex, testStart,
  get options() { return options; },
  http: (record) => IngestRecord(record),
  sample: (name, type, value, tags, t, isTime) => reg.add(name, type, value, tags, t, isTime),
  check: (group, name, ok, tags, t) => reg.addCheck(group || '', name, ok, t),
};

function SpawnVU(id, sc) {
  if (mode === 'local') {
    return new Promise((resolve) => {
      let vu;
      const worker = new LocalVU(id, { ...localHost, options, onMessage: (m) => OnVuMessage(vu, m, resolve) });
      vu = { id, worker, sc, busy: false, slot: id };
      vus[id] = vu;
      worker.init();
    });
  }
  return new Promise((resolve, reject) => {
    const io = ioThreads[id % ioThreads.length];
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    io.postMessage({ type: 'register', vuId: id, port: port2, flag }, [port2]);
    const worker = new Worker(path.join(shimRoot, 'lib', 'vu-worker.mjs'), {
      workerData: { scriptUrl, vuId: id, env, ioPort: port1, flag, ctl, counters, scenarioIndex, testStart, options },
      transferList: [port1],
      resourceLimits: { maxOldGenerationSizeMb: id === 0 ? 1024 : 128 },
    });
    const vu = { id, worker, sc, busy: false, slot: id };
    worker.on('message', (m) => OnVuMessage(vu, m, resolve));
    worker.on('error', (e) => { log(`VU ${id} crashed:`, e.stack || e); if (!vu.ready) reject(e); });
    vus[id] = vu;
  });
}

let pendingCall = null;
function OnVuMessage(vu, m, resolveReady) {
  switch (m.type) {
    case 'ready': vu.ready = true; vu.options = m.options; resolveReady(vu); break;
    case 'init-error': log(`init context of VU ${vu.id} failed:\n${m.error}`); process.exit(107); break;
    case 'samples': IngestSamples(m.samples); break;
    case 'abort': if (!aborted) { aborted = `test.abort(): ${m.reason}`; log(aborted); } break;
    case 'iter-error': NoteIterError(m.error); break;
    case 'result': pendingCall?.(m); break;
    case 'done': {
      if (m.error) NoteIterError(m.error);
      vu.busy = false;
      vu.sc?.onDone?.(vu, m);
      break;
    }
  }
}
function NoteIterError(e) {
  iterErrors++;
  if (iterErrorSamples.length < 5) { iterErrorSamples.push(e); log(`iteration error: ${e}`); }
}

function Call(vu, fn, arg) {
  return new Promise((resolve) => { pendingCall = resolve; vu.worker.postMessage({ type: 'call', fn, arg }); });
}

async function SpawnMany(list) { // [{id, sc}] in parallel batches: worker start-up is the slow part
  const out = [];
  for (let i = 0; i < list.length; i += 16) out.push(...await Promise.all(list.slice(i, i + 16).map((x) => SpawnVU(x.id, x.sc))));
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- executors ------------------------------------------------------------------------------
function ScDesc(sc) {
  return { name: sc.name, exec: sc.exec, executor: sc.executor, env: sc.env, tags: sc.tags, startMs: testStart + sc.startMs };
}

async function RunArrival(sc, setupData) {
  const idle = sc.pool.filter((v) => !v.busy);
  let allocated = sc.pool.length, dispatched = 0;
  const waiting = [];
  const t0 = now();
  sc.t0 = t0;
  const desc = ScDesc(sc);
  const Start = (vu, due) => {
    vu.busy = true;
    reg.add('shim_dispatch_lag', 'trend', Math.max(0, now() - due), { scenario: sc.name }, undefined, true);
    vu.worker.postMessage({ type: 'iter', scenario: desc });
  };
  sc.onDone = (vu) => { if (waiting.length) Start(vu, waiting.shift()); else idle.push(vu); };
  while (!aborted) {
    const t = now() - t0;
    const total = Math.floor(ArrivalsUntil(sc, Math.min(t, sc.durationMs)) + 1e-9);
    while (dispatched < total) {
      dispatched++;
      const due = t0 + DueTime(sc, dispatched, 0, Math.min(t, sc.durationMs));
      if (idle.length) Start(idle.pop(), due);
      else if (allocated < sc.maxVUs) {
        allocated++;
        waiting.push(due);
        const id = nextVuId++;
        SpawnVU(id, sc).then((vu) => { vu.worker.postMessage({ type: 'data', data: setupData }); sc.pool.push(vu); sc.onDone(vu); });
      } else {
        reg.add('dropped_iterations', 'counter', 1, { scenario: sc.name }, now());
      }
    }
    if (t >= sc.durationMs) break;
    await sleep(2);
  }
  sc.dispatchEnded = true;
  await Drain(sc, sc.gracefulStopMs);
}

async function Drain(sc, graceMs) {
  const until = now() + (aborted ? Math.min(graceMs, 5000) : graceMs);
  while (sc.pool.some((v) => v.busy) && now() < until) await sleep(20);
  const stuck = sc.pool.filter((v) => v.busy);
  if (stuck.length) log(`scenario ${sc.name}: ${stuck.length} iterations interrupted after the graceful stop`);
  if (stuck.length) reg.add('shim_interrupted_iterations', 'counter', stuck.length, { scenario: sc.name }, now());
  for (const v of stuck) { v.worker.terminate(); v.busy = false; v.dead = true; }
}

async function RunLooping(sc) {
  const t0 = now();
  sc.t0 = t0;
  const desc = ScDesc(sc);
  const Loop = (vu, extra = {}) => { Atomics.store(new Int32Array(ctl), vu.slot, 1); vu.busy = true; vu.looping = true; vu.worker.postMessage({ type: 'loop', scenario: desc, slot: vu.slot, ...extra }); };
  sc.onDone = (vu) => { vu.looping = false; };
  const ctlArr = new Int32Array(ctl);
  if (sc.kind === 'iterations') {
    let shared;
    if (sc.executor === 'shared-iterations') { shared = 32 + sc.index; Atomics.store(new Int32Array(counters), shared, sc.iterations || 1); }
    for (const vu of sc.pool) Loop(vu, shared === undefined ? { iterations: sc.iterations || 1 } : { shared });
    while (!aborted && sc.pool.some((v) => v.busy) && now() - t0 < sc.durationMs) await sleep(20);
  } else {
    while (!aborted) {
      const t = now() - t0;
      if (t >= sc.durationMs) break;
      const target = VUsAt(sc, t);
      sc.pool.forEach((vu, i) => {
        if (i < target && !vu.busy) Loop(vu);
        else if (i >= target && vu.looping) Atomics.store(ctlArr, vu.slot, 0);
      });
      await sleep(50);
    }
  }
  for (const vu of sc.pool) Atomics.store(ctlArr, vu.slot, 0);
  await Drain(sc, sc.kind === 'vus' ? sc.gracefulRampDownMs : sc.gracefulStopMs);
}

// ---- progress, load-generator CPU and the per-second series -----------------------------------
let lastCpu = process.cpuUsage(), lastWall = now();
const series = [];
let lastElu = performance.eventLoopUtilization();
const lastIoElu = [];
function SampleSelf() {
  const cpu = process.cpuUsage(), wall = now();
  const pct = ((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / (wall - lastWall)) * 100;
  lastCpu = cpu; lastWall = wall;
  const elu = performance.eventLoopUtilization(lastElu); lastElu = performance.eventLoopUtilization();
  const io = ioThreads.map((w, i) => { const e = w.performance.eventLoopUtilization(lastIoElu[i]); lastIoElu[i] = w.performance.eventLoopUtilization(); return e.utilization; });
  return { cpuPct: pct, eluMain: elu.utilization, eluIo: io, rssMb: Math.round(process.memoryUsage.rss() / 1e6) };
}

function Tick(progressEvery) {
  const self = SampleSelf();
  const sec = Math.floor(now() / 1000) - 1; // the last complete second
  const s = reg.seconds.get(sec);
  const active = scenarios.filter((sc) => sc.t0 && !sc.finished);
  const busy = vus.filter((v) => v && v.busy && v.id !== 0).length;
  const point = { t: sec, elapsed: (sec * 1000 - testStart) / 1000, reqs: s?.reqs || 0, failed: s?.failed || 0,
    p50: s?.h.percentile(50) || 0, p95: s?.h.percentile(95) || 0, p99: s?.h.percentile(99) || 0, max: s?.h.count ? s.h.max : 0,
    iters: s?.iters || 0, dropped: s?.dropped || 0, counters: s?.counters || {}, vusBusy: busy,
    vusAllocated: vus.filter((v) => v && v.id !== 0 && !v.dead).length,
    target: Object.fromEntries(active.map((sc) => [sc.name, sc.kind === 'arrival' ? RateAt(sc, now() - sc.t0) : VUsAt(sc, now() - sc.t0)])),
    loadgen: self, h: s ? [...s.h.buckets] : [],
    api: Object.fromEntries(Object.entries(s?.api || {}).map(([k, v]) => [k, { reqs: v.reqs, failed: v.failed, p95: v.h.percentile(95) }])) };
  series.push(point);
  reg.add('vus', 'gauge', busy, {});
  reg.add('shim_loadgen_cpu_percent', 'trend', self.cpuPct, {});
  reg.seconds.delete(sec - 5);
  if (self.eluIo.some((u) => u > 0.9) || self.eluMain > 0.9) {
    if (!Tick.warned) { Tick.warned = true; log(`WARNING: the load generator is saturated (event-loop use main ${self.eluMain.toFixed(2)}${self.eluIo.length ? `, io ${self.eluIo.map((x) => x.toFixed(2)).join('/')}` : ''}): ${mode === 'threads' ? 'raise K6_SHIM_IO_THREADS or ' : ''}give it more CPU; latencies now include generator delay`); }
    reg.add('shim_loadgen_saturated_seconds', 'counter', 1, {});
  }
  if (!args.quiet && progressEvery > 0 && Math.round(point.elapsed) % progressEvery === 0) {
    const tgt = active.map((sc) => `${sc.name} ${sc.kind === 'arrival' ? `${point.target[sc.name].toFixed(0)} it/s` : `${point.target[sc.name]} VUs`}`).join(', ') || '-';
    process.stderr.write(`[k6-shim ${String(Math.round(point.elapsed)).padStart(4)}s] ${tgt} | ${point.reqs} req/s p95 ${point.p95.toFixed(1)}ms p99 ${point.p99.toFixed(1)}ms failed ${point.failed} | VUs busy ${busy}/${point.vusAllocated} dropped ${point.dropped} | loadgen CPU ${self.cpuPct.toFixed(0)}% RSS ${self.rssMb} MB ELU main ${self.eluMain.toFixed(2)}${self.eluIo.length ? ` io ${self.eluIo.map((x) => x.toFixed(2)).join('/')}` : ''}\n`);
  }
}

let runStartMs = 0; // k6 counts delayAbortEval from the start of the scenarios, not of VU init
function CheckAbortThresholds() {
  const elapsed = Date.now() - runStartMs;
  for (const th of thresholds) {
    if (!th.abortOnFail || elapsed < th.delayAbortEvalMs) continue;
    const r = EvalThreshold(reg, th, elapsed / 1000);
    if (!r.ok && !aborted) { aborted = `threshold ${th.key}: ${th.expr} crossed (value ${r.value.toFixed(3)}) with abortOnFail`; log(aborted); }
  }
}

// ---- main -----------------------------------------------------------------------------------
async function Main() {
  const nIo = Number(env.K6_SHIM_IO_THREADS || 0);
  if (mode === 'threads') StartIO(1);
  reg = new Registry([]);
  const vu0 = await SpawnVU(0, null);
  options = vu0.options || {};
  scenarios = NormalizeScenarios(options);
  thresholds = NormalizeThresholds(options.thresholds);
  reg = new Registry(thresholds.map((t) => t.key));
  scenarios.forEach((sc, i) => { scenarioIndex[sc.name] = i; });
  if (args.cmd === 'inspect') {
    console.log(JSON.stringify({ scenarios: scenarios.map(({ segments, pool, ...s }) => s), thresholds }, null, 2));
    process.exit(0);
  }
  const totalMax = scenarios.reduce((a, sc) => a + sc.maxVUs, 0);
  const wantIo = nIo || (totalMax > 150 ? 2 : 1);
  if (mode === 'threads' && wantIo > 1) StartIO(wantIo - 1);
  log(`${scenarios.length} scenario(s): ${scenarios.map((sc) => `${sc.name} (${sc.executor}, ${(sc.durationMs / 1000).toFixed(0)}s, up to ${sc.maxVUs} VUs)`).join(', ')}; ${mode === 'local' ? 'all VUs in one thread' : `a thread per VU, ${ioThreads.length} I/O thread(s)`}`);
  const t0 = now();
  const plan = [];
  for (const sc of scenarios) for (let i = 0; i < sc.initialVUs; i++) plan.push({ id: nextVuId++, sc });
  const made = await SpawnMany(plan);
  for (const sc of scenarios) sc.pool = made.filter((v) => v.sc === sc);
  log(`initialised ${made.length} VUs in ${((now() - t0) / 1000).toFixed(1)}s`);

  const setup = await Call(vu0, 'setup');
  if (setup.error) { log(`setup() failed:\n${setup.error}`); process.exit(107); }
  for (const v of made) v.worker.postMessage({ type: 'data', data: setup.result });
  const progressEvery = Number(env.K6_SHIM_PROGRESS_SECONDS || 5);
  const ticker = setInterval(() => { Tick(progressEvery); CheckAbortThresholds(); }, 1000);
  const runStart = Date.now();
  runStartMs = runStart;
  await Promise.all(scenarios.map(async (sc) => {
    await sleep(sc.startMs);
    if (aborted) return;
    if (sc.kind === 'arrival') await RunArrival(sc, setup.result); else await RunLooping(sc);
    sc.finished = true;
  }));
  clearInterval(ticker);
  await FlushIO();
  await sleep(50);
  const runMs = Date.now() - runStart;

  const teardown = await Call(vu0, 'teardown', setup.result);
  await FlushIO();
  await sleep(50);
  for (const th of thresholds) th.result = EvalThreshold(reg, th, runMs / 1000);
  const data = BuildSummary(reg, thresholds, options, runMs, setup.result);
  data.shim = { aborted, iterationErrors: iterErrors, teardownError: teardown.error, vuMode: mode, ioThreads: ioThreads.length, vus: vus.filter(Boolean).length - 1 };
  if (args.timeseries) fs.writeFileSync(args.timeseries, JSON.stringify({ testStart, runStart, scenarios: scenarios.map(({ pool, onDone, segments, ...s }) => s), series }));
  if (args.summaryExport) fs.writeFileSync(args.summaryExport, JSON.stringify(data, null, 2));

  const hs = await Call(vu0, 'handleSummary', data);
  if (hs.error) { log(`handleSummary() failed:\n${hs.error}`); }
  if (hs.has && hs.result && !hs.error) {
    for (const [dest, content] of Object.entries(hs.result)) {
      const text = typeof content === 'string' ? content : Buffer.from(content);
      if (dest === 'stdout') process.stdout.write(text); else if (dest === 'stderr') process.stderr.write(text);
      else { fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true }); fs.writeFileSync(dest, text); }
    }
  } else {
    process.stdout.write(TextSummary(data));
  }
  let code = 0;
  const failedTh = thresholds.filter((t) => !t.result.ok);
  for (const t of failedTh) log(`threshold FAILED: ${t.key} ${t.expr} (value ${Number(t.result.value).toFixed(3)})`);
  if (failedTh.length) code = 99;
  if (teardown.error) { log(`teardown() failed:\n${teardown.error}`); code = 107; }
  if (args.failOnIterErrors && iterErrors) { log(`${iterErrors} iteration(s) threw`); code = code || 108; }
  if (aborted) log(`run aborted: ${aborted}`);
  log(`exit ${code}`);
  process.exit(code);
}

Main().catch((e) => { log(e.stack || e); process.exit(1); });
