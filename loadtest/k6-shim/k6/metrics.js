// k6/metrics: custom metrics; samples go to the shim's aggregator in the main thread.
// The VU's context: in one-thread mode this module instance belongs to one VU (?k6vu=N);
// in thread-per-VU mode the VU thread's global.
const vuCtx = globalThis.__k6shimVU ? globalThis.__k6shimVU(import.meta.url) : null;
const shim = () => vuCtx || globalThis.__k6shim;

class Metric {
  constructor(name, type, isTime) {
    if (!/^[A-Za-z0-9_]{1,128}$/.test(name)) throw new Error(`invalid metric name ${name}`);
    this.name = name; this.type = type; this.isTime = !!isTime;
  }
  add(value, tags) {
    shim().emit(this.name, this.type, Number(typeof value === 'boolean' ? +value : value), tags, this.isTime);
    return true;
  }
}

export class Counter extends Metric { constructor(name) { super(name, 'counter'); } }
export class Gauge extends Metric { constructor(name, isTime) { super(name, 'gauge', isTime); } }
export class Rate extends Metric { constructor(name) { super(name, 'rate'); } }
export class Trend extends Metric { constructor(name, isTime) { super(name, 'trend', isTime); } }

export default { Counter, Gauge, Rate, Trend };
