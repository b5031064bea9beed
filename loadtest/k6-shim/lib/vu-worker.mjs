// One k6 VU: its own JavaScript runtime (a worker thread) running the script's init context
// once, then iterations on the main thread's orders. k6 code is synchronous, so a request
// blocks this thread (Atomics.wait) while the I/O thread performs it.
import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { ParseDuration } from './metrics.mjs';

const { scriptUrl, vuId, env, ioPort, flag, ctl, counters, scenarioIndex, testStart, options } = workerData;
const flagArr = new Int32Array(flag);
const ctlArr = new Int32Array(ctl);
const counterArr = new Int32Array(counters);
const sleepArr = new Int32Array(new SharedArrayBuffer(4));
const now = () => performance.timeOrigin + performance.now();

let samples = [];
const state = { vuId, iter: -1, iterInScenario: -1, iterInTest: -1, scenario: '', executor: '', group: '', tags: {}, testStart, scenarioStart: 0 };

function Flush() {
  if (samples.length) { parentPort.postMessage({ type: 'samples', samples }); samples = []; }
}
function Emit(name, type, value, tags, isTime) {
  samples.push([name, type, value, { scenario: state.scenario, group: state.group, ...state.tags, ...(tags || {}) }, now(), !!isTime]);
  if (samples.length > 1000) Flush();
}

class AbortError extends Error {}

globalThis.__ENV = { ...env };
globalThis.__VU = vuId;
globalThis.__ITER = 0;
globalThis.__k6shim = {
  state, options,
  duration: (d) => (typeof d === 'number' ? d : ParseDuration(d)),
  request(req) {
    if (state.scenario === '' && state.phase === 'init') throw new Error('making HTTP requests in the init context is not supported');
    req.tags = { scenario: state.scenario, group: state.group, ...state.tags, ...req.tags };
    Atomics.store(flagArr, 0, 0);
    ioPort.postMessage(req);
    Atomics.wait(flagArr, 0, 0);
    let m;
    while (!(m = receiveMessageOnPort(ioPort))) Atomics.wait(sleepArr, 0, 0, 1);
    return m.message;
  },
  emit: Emit,
  check(name, ok, tags) {
    samples.push(['__check', 'rate', ok ? 1 : 0, { scenario: state.scenario, group: state.group, check: name, ...(tags || {}) }, now(), false]);
  },
  group(name, fn) {
    const parent = state.group;
    state.group = `${parent}::${name}`;
    const t0 = now();
    try { return fn(); } finally {
      Emit('group_duration', 'trend', now() - t0, { group: state.group }, true);
      state.group = parent;
    }
  },
  sleep(seconds) { if (seconds > 0) Atomics.wait(sleepArr, 0, 0, seconds * 1000); },
  abort(reason) {
    parentPort.postMessage({ type: 'abort', reason: String(reason || 'test.abort() called') });
    throw new AbortError(`test aborted: ${reason || ''}`);
  },
};

state.phase = 'init';
let mod;
try {
  mod = await import(scriptUrl);
} catch (e) {
  parentPort.postMessage({ type: 'init-error', error: e.stack || String(e) });
  process.exit(1);
}
state.phase = 'run';
let setupData;

function RunIteration(sc) {
  state.iter++; state.iterInScenario++;
  globalThis.__ITER = state.iterInScenario;
  state.iterInTest = Atomics.add(counterArr, scenarioIndex[sc.name], 1);
  const fn = sc.exec === 'default' ? mod.default : mod[sc.exec];
  const t0 = now();
  let error = null;
  try {
    if (typeof fn !== 'function') throw new Error(`exported function "${sc.exec}" not found`);
    fn(setupData);
  } catch (e) {
    error = e instanceof AbortError ? null : (e && e.stack) || String(e);
  }
  const d = now() - t0;
  if (!error) {
    Emit('iteration_duration', 'trend', d, {}, true);
    Emit('iterations', 'counter', 1, {});
  } else {
    Emit('shim_iteration_errors', 'counter', 1, {});
  }
  return error;
}

function Enter(sc) {
  if (state.scenario !== sc.name) { state.iterInScenario = -1; state.scenarioStart = sc.startMs; }
  state.scenario = sc.name; state.executor = sc.executor; state.tags = { ...(sc.tags || {}) };
  globalThis.__ENV = { ...env, ...(sc.env || {}) };
}

parentPort.on('message', (msg) => {
  switch (msg.type) {
    case 'data': setupData = msg.data; break;
    case 'iter': {
      Enter(msg.scenario);
      const error = RunIteration(msg.scenario);
      Flush();
      parentPort.postMessage({ type: 'done', error });
      break;
    }
    case 'loop': {
      Enter(msg.scenario);
      let error = null, n = 0;
      while (Atomics.load(ctlArr, msg.slot) === 1 && (msg.iterations === undefined || n < msg.iterations)) {
        if (msg.shared !== undefined && Atomics.sub(counterArr, msg.shared, 1) <= 0) break;
        const e = RunIteration(msg.scenario);
        n++;
        if (e) { parentPort.postMessage({ type: 'iter-error', error: e }); error = e; }
        Flush();
      }
      parentPort.postMessage({ type: 'done', error: null, loopEnded: true });
      break;
    }
    case 'call': {
      // setup(), teardown(data), handleSummary(data): run once, outside any scenario
      state.scenario = ''; state.group = `::${msg.fn}`; state.tags = {};
      let result, error = null;
      try {
        const fn = mod[msg.fn];
        result = typeof fn === 'function' ? fn(msg.arg) : undefined;
        if (msg.fn === 'setup') result = result === undefined ? undefined : JSON.parse(JSON.stringify(result));
      } catch (e) { error = (e && e.stack) || String(e); }
      state.group = '';
      Flush();
      parentPort.postMessage({ type: 'result', fn: msg.fn, result, error, has: typeof mod[msg.fn] === 'function' });
      break;
    }
  }
});
parentPort.postMessage({ type: 'ready', options: vuId === 0 ? JSON.parse(JSON.stringify(mod.options || {})) : undefined, exports: Object.keys(mod) });
