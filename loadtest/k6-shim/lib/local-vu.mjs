// One-thread mode of the k6 shim: all VUs in the runner's own thread. The script folder was
// rewritten by transform.mjs (blocking k6 calls awaited), and each VU imports its own instance
// of the module graph (esm-hooks.mjs), so a VU costs a few hundred kB instead of a thread and a
// JavaScript runtime (~10 MB), and a request costs no thread hand-over. A LocalVU speaks the
// same messages as a vu-worker.mjs thread (data, iter, loop, call -> ready, done, result, ...),
// so the executors do not know which kind of VU they drive.
import { performance } from 'node:perf_hooks';
import { ParseDuration } from './metrics.mjs';
import { Run, Finish, DropAgent } from './http-client.mjs';

const now = () => performance.timeOrigin + performance.now();
class AbortError extends Error {}
const contexts = new Map(); // VU id -> context (what globalThis.__k6shim is in a VU thread)

// Called by every rewritten module and every k6/* module at import: its VU's context.
globalThis.__k6shimVU = (url) => {
  const m = /[?&]k6vu=(\d+)/.exec(url);
  const ctx = m && contexts.get(Number(m[1]));
  if (!ctx) throw new Error(`k6 shim: module ${url} imported outside a VU`);
  return ctx;
};
const yieldToLoop = () => new Promise((r) => setImmediate(r));

export class LocalVU {
  // host: {scriptUrl, env, options, counters, scenarioIndex, testStart, ctl, onMessage(m), http(record), sample(...), check(...)}
  constructor(id, host) {
    this.id = id; this.host = host; this.dead = false;
    this.ctlArr = new Int32Array(host.ctl);
    this.counterArr = new Int32Array(host.counters);
    const state = { vuId: id, iter: -1, iterInScenario: -1, iterInTest: -1, scenario: '', executor: '', group: '', tags: {}, testStart: host.testStart, scenarioStart: 0, phase: 'init' };
    this.state = state;
    const vu = this;
    const Emit = (name, type, value, tags, isTime) => {
      if (vu.dead) return;
      host.sample(name, type, value, { scenario: state.scenario, group: state.group, ...state.tags, ...(tags || {}) }, now(), !!isTime);
    };
    this.emit = Emit;
    this.ctx = {
      state, options: host.options, id, iter: 0, env: { ...host.env },
      duration: (d) => (typeof d === 'number' ? d : ParseDuration(d)),
      request(req) {
        if (state.scenario === '' && state.phase === 'init') throw new Error('making HTTP requests in the init context is not supported');
        if (vu.dead) return Promise.reject(new AbortError('VU stopped after the graceful stop'));
        req.tags = { scenario: state.scenario, group: state.group, ...state.tags, ...req.tags };
        return new Promise((resolve) => {
          Run(id, req, (raw) => {
            const [record, response] = Finish(req, raw);
            if (!vu.dead) host.http(record);
            resolve(response);
          });
        });
      },
      emit: Emit,
      check(name, ok, tags) {
        if (vu.dead) return;
        host.check(state.group, name, ok, { scenario: state.scenario, group: state.group, check: name, ...(tags || {}) }, now());
      },
      async group(name, fn) {
        const parent = state.group;
        state.group = `${parent}::${name}`;
        const t0 = now();
        try { return await fn(); } finally {
          Emit('group_duration', 'trend', now() - t0, { group: state.group }, true);
          state.group = parent;
        }
      },
      sleep(seconds) { return seconds > 0 ? new Promise((r) => setTimeout(r, seconds * 1000)) : Promise.resolve(); },
      abort(reason) {
        host.onMessage({ type: 'abort', reason: String(reason || 'test.abort() called') });
        throw new AbortError(`test aborted: ${reason || ''}`);
      },
    };
    contexts.set(id, this.ctx);
  }

  async init() {
    try {
      this.mod = await import(`${this.host.scriptUrl}?k6vu=${this.id}`);
    } catch (e) {
      this.host.onMessage({ type: 'init-error', error: e.stack || String(e) });
      return;
    }
    this.state.phase = 'run';
    this.host.onMessage({ type: 'ready', options: this.id === 0 ? JSON.parse(JSON.stringify(this.mod.options || {})) : undefined, exports: Object.keys(this.mod) });
  }

  async RunIteration(sc) {
    const state = this.state;
    state.iter++; state.iterInScenario++;
    this.ctx.iter = state.iterInScenario;
    state.iterInTest = Atomics.add(this.counterArr, this.host.scenarioIndex[sc.name], 1);
    const fn = sc.exec === 'default' ? this.mod.default : this.mod[sc.exec];
    if (!this.setupCopied) { this.setupData = this.setupRaw === undefined ? undefined : structuredClone(this.setupRaw); this.setupCopied = true; }
    const t0 = now();
    let error = null;
    try {
      if (typeof fn !== 'function') throw new Error(`exported function "${sc.exec}" not found`);
      await fn(this.setupData);
    } catch (e) {
      error = e instanceof AbortError ? null : (e && e.stack) || String(e);
    }
    const d = now() - t0;
    if (!error) {
      this.emit('iteration_duration', 'trend', d, {}, true);
      this.emit('iterations', 'counter', 1, {});
    } else {
      this.emit('shim_iteration_errors', 'counter', 1, {});
    }
    return error;
  }

  Enter(sc) {
    const state = this.state;
    if (state.scenario !== sc.name) { state.iterInScenario = -1; state.scenarioStart = sc.startMs; }
    state.scenario = sc.name; state.executor = sc.executor; state.tags = { ...(sc.tags || {}) };
    this.ctx.env = sc.env ? { ...this.host.env, ...sc.env } : this.baseEnv || (this.baseEnv = { ...this.host.env });
  }

  Send(m) { if (!this.dead) this.host.onMessage(m); }

  // The vu-worker.mjs protocol.
  postMessage(msg) {
    switch (msg.type) {
      // Each VU its own copy of setup()'s data, as k6 - made at its first iteration, so VUs
      // the executor never needs cost nothing.
      case 'data': this.setupRaw = msg.data; this.setupCopied = false; break;
      case 'iter': {
        Promise.resolve().then(async () => {
          this.Enter(msg.scenario);
          const error = await this.RunIteration(msg.scenario);
          this.Send({ type: 'done', error });
        });
        break;
      }
      case 'loop': {
        Promise.resolve().then(async () => {
          this.Enter(msg.scenario);
          let n = 0;
          while (!this.dead && Atomics.load(this.ctlArr, msg.slot) === 1 && (msg.iterations === undefined || n < msg.iterations)) {
            if (msg.shared !== undefined && Atomics.sub(this.counterArr, msg.shared, 1) <= 0) break;
            const e = await this.RunIteration(msg.scenario);
            n++;
            if (e) this.Send({ type: 'iter-error', error: e });
            await yieldToLoop(); // an iteration without I/O must not starve the other VUs
          }
          this.Send({ type: 'done', error: null, loopEnded: true });
        });
        break;
      }
      case 'call': {
        Promise.resolve().then(async () => {
          const state = this.state;
          state.scenario = ''; state.group = `::${msg.fn}`; state.tags = {};
          let result, error = null;
          try {
            const fn = this.mod[msg.fn];
            result = typeof fn === 'function' ? await fn(msg.arg) : undefined;
            if (msg.fn === 'setup') result = result === undefined ? undefined : JSON.parse(JSON.stringify(result));
          } catch (e) { error = (e && e.stack) || String(e); }
          state.group = '';
          this.Send({ type: 'result', fn: msg.fn, result, error, has: typeof this.mod[msg.fn] === 'function' });
        });
        break;
      }
    }
  }

  terminate() { this.dead = true; DropAgent(this.id); }
}
