// Metric registry of the k6 shim: counters, gauges, rates and trends (log-bucket histograms),
// sub-metrics selected by tags, per-second time series, and k6-style threshold evaluation.

// Log buckets 1% wide from 1 microsecond: percentiles within 0.5% like an HDR histogram,
// at a few hundred map entries per trend whatever the sample count.
const kGrowth = Math.log(1.01);
const kUnit = 0.001; // milliseconds -> the smallest bucket (1 us)

function BucketOf(v) {
  if (!(v > kUnit)) return 0;
  return 1 + Math.floor(Math.log(v / kUnit) / kGrowth);
}
function BucketValue(b) { // geometric middle of the bucket
  if (b === 0) return 0;
  return kUnit * Math.exp((b - 0.5) * kGrowth);
}

export class Histogram {
  constructor() { this.buckets = new Map(); this.count = 0; this.sum = 0; this.min = Infinity; this.max = -Infinity; }
  add(v) {
    const b = BucketOf(v);
    this.buckets.set(b, (this.buckets.get(b) || 0) + 1);
    this.count++; this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
  merge(other) {
    for (const [b, n] of other.buckets) this.buckets.set(b, (this.buckets.get(b) || 0) + n);
    this.count += other.count; this.sum += other.sum;
    this.min = Math.min(this.min, other.min); this.max = Math.max(this.max, other.max);
  }
  percentile(p) {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k);
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, BucketValue(k)));
    }
    return this.max;
  }
  toJSON() { return { count: this.count, sum: this.sum, min: this.min, max: this.max, buckets: [...this.buckets] }; }
  static fromJSON(j) {
    const h = new Histogram();
    h.count = j.count; h.sum = j.sum; h.min = j.min; h.max = j.max; h.buckets = new Map(j.buckets);
    return h;
  }
}

class Sink {
  constructor(type) {
    this.type = type;
    if (type === 'trend') this.h = new Histogram();
    this.count = 0; this.sum = 0; this.trues = 0; this.last = 0; this.min = Infinity; this.max = -Infinity;
  }
  add(v) {
    this.count++;
    switch (this.type) {
      case 'counter': this.sum += v; break;
      case 'gauge': this.last = v; this.min = Math.min(this.min, v); this.max = Math.max(this.max, v); break;
      case 'rate': if (v) this.trues++; break;
      case 'trend': this.h.add(v); break;
    }
  }
  values(durationSec, trendStats) {
    switch (this.type) {
      case 'counter': return { count: this.sum, rate: durationSec > 0 ? this.sum / durationSec : 0 };
      case 'gauge': return { value: this.last, min: this.count ? this.min : 0, max: this.count ? this.max : 0 };
      case 'rate': return { rate: this.count ? this.trues / this.count : 0, passes: this.trues, fails: this.count - this.trues };
      case 'trend': {
        const h = this.h, out = {};
        for (const s of trendStats) out[s] = TrendStat(h, s);
        return out;
      }
    }
    return {};
  }
}

function TrendStat(h, stat) {
  if (h.count === 0) return 0;
  if (stat === 'avg') return h.sum / h.count;
  if (stat === 'min') return h.min;
  if (stat === 'max') return h.max;
  if (stat === 'med') return h.percentile(50);
  if (stat === 'count') return h.count;
  const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
  if (m) return h.percentile(Number(m[1]));
  throw new Error(`unknown trend stat ${stat}`);
}

// "http_req_duration{api:confirm,expected_response:true}" -> {name, filter}
export function ParseMetricKey(key) {
  const m = /^([A-Za-z0-9_]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`bad metric name in thresholds: ${key}`);
  const filter = {};
  if (m[2]) {
    for (const part of m[2].split(',')) {
      const i = part.indexOf(':');
      if (i < 0) throw new Error(`bad tag filter in ${key}`);
      filter[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/^["']|["']$/g, '');
    }
  }
  return { name: m[1], filter };
}

export const kBuiltinTypes = {
  http_reqs: 'counter', http_req_duration: 'trend', http_req_waiting: 'trend',
  http_req_connecting: 'trend', http_req_blocked: 'trend', http_req_sending: 'trend',
  http_req_receiving: 'trend', http_req_tls_handshaking: 'trend', http_req_failed: 'rate',
  data_received: 'counter', data_sent: 'counter', iterations: 'counter',
  iteration_duration: 'trend', dropped_iterations: 'counter', vus: 'gauge', vus_max: 'gauge',
  checks: 'rate', group_duration: 'trend',
};
const kTimeMetrics = new Set(['http_req_duration', 'http_req_waiting', 'http_req_connecting',
  'http_req_blocked', 'http_req_sending', 'http_req_receiving', 'http_req_tls_handshaking',
  'iteration_duration', 'group_duration']);

export class Registry {
  constructor(thresholdKeys = []) {
    this.metrics = new Map(); // name -> {type, contains, sink, subs: [{key, filter, sink}]}
    this.checks = new Map(); // "group\0name" -> {name, path, passes, fails}
    this.seconds = new Map(); // epoch second -> per-second aggregate
    this.pendingSubs = thresholdKeys.map(ParseMetricKey).map((p, i) => ({ ...p, key: thresholdKeys[i] }));
  }
  declare(name, type, isTime) {
    let m = this.metrics.get(name);
    if (!m) {
      m = { type, contains: isTime || kTimeMetrics.has(name) ? 'time' : (name.startsWith('data_') ? 'data' : 'default'), sink: new Sink(type), subs: [] };
      for (const p of this.pendingSubs) if (p.name === name && Object.keys(p.filter).length) m.subs.push({ key: p.key, filter: p.filter, sink: new Sink(type) });
      this.metrics.set(name, m);
    } else if (m.type !== type) {
      throw new Error(`metric ${name} declared as ${m.type} and ${type}`);
    }
    return m;
  }
  add(name, type, value, tags, tMs, isTime) {
    const m = this.declare(name, type, isTime);
    m.sink.add(value);
    for (const s of m.subs) {
      let ok = true;
      for (const k in s.filter) if (String(tags?.[k]) !== s.filter[k]) { ok = false; break; }
      if (ok) s.sink.add(value);
    }
    this.addSecond(name, type, value, tags, tMs);
  }
  // The per-second series the report draws: requests, failures, latency histogram, flows.
  addSecond(name, type, value, tags, tMs) {
    if (tMs === undefined) return;
    const sec = Math.floor(tMs / 1000);
    let s = this.seconds.get(sec);
    if (!s) { s = { reqs: 0, failed: 0, h: new Histogram(), iters: 0, dropped: 0, counters: {}, api: {} }; this.seconds.set(sec, s); }
    if (name === 'http_reqs') {
      s.reqs += value;
      const api = tags?.api || tags?.name || '';
      (s.api[api] ||= { reqs: 0, failed: 0, h: new Histogram() }).reqs += value;
    } else if (name === 'http_req_failed') {
      if (value) { s.failed++; const api = tags?.api || tags?.name || ''; (s.api[api] ||= { reqs: 0, failed: 0, h: new Histogram() }).failed++; }
    } else if (name === 'http_req_duration') {
      s.h.add(value);
      const api = tags?.api || tags?.name || '';
      (s.api[api] ||= { reqs: 0, failed: 0, h: new Histogram() }).h.add(value);
    } else if (name === 'iterations') s.iters += value;
    else if (name === 'dropped_iterations') s.dropped += value;
    else if (type === 'counter') s.counters[name] = (s.counters[name] || 0) + value;
  }
  addCheck(groupPath, name, ok, tMs) {
    const key = `${groupPath}\0${name}`;
    let c = this.checks.get(key);
    if (!c) { c = { name, path: `${groupPath}::${name}`, group: groupPath, passes: 0, fails: 0 }; this.checks.set(key, c); }
    if (ok) c.passes++; else c.fails++;
    this.add('checks', 'rate', ok ? 1 : 0, { check: name, group: groupPath }, tMs);
  }
  sinkFor(key) {
    const { name, filter } = ParseMetricKey(key);
    const m = this.metrics.get(name);
    if (!m) return null;
    if (!Object.keys(filter).length) return m.sink;
    return m.subs.find((s) => s.key === key)?.sink || null;
  }
}

// ---- thresholds -----------------------------------------------------------------------------

export function NormalizeThresholds(thresholds = {}) {
  const out = [];
  for (const [key, list] of Object.entries(thresholds)) {
    for (const t of Array.isArray(list) ? list : [list]) {
      const spec = typeof t === 'string' ? { threshold: t } : t;
      const m = /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*(-?[\d.]+)\s*$/.exec(spec.threshold);
      if (!m) throw new Error(`cannot parse threshold "${spec.threshold}" of ${key}`);
      out.push({ key, expr: spec.threshold, stat: m[1], op: m[2], bound: Number(m[3]),
        abortOnFail: !!spec.abortOnFail, delayAbortEvalMs: ParseDuration(spec.delayAbortEval || '0s') });
    }
  }
  return out;
}

export function EvalThreshold(reg, th, durationSec) {
  const sink = reg.sinkFor(th.key);
  let v;
  if (!sink) v = 0; // a metric nobody emitted: k6 evaluates it as zero
  else if (sink.type === 'trend') v = TrendStat(sink.h, th.stat);
  else v = sink.values(durationSec, [])[th.stat];
  if (v === undefined) throw new Error(`threshold ${th.expr} does not apply to ${sink.type} ${th.key}`);
  const b = th.bound;
  const ok = { '<': v < b, '<=': v <= b, '>': v > b, '>=': v >= b, '==': v == b, '===': v === b, '!=': v != b }[th.op];
  return { ok, value: v };
}

export function ParseDuration(d) {
  if (typeof d === 'number') return d; // milliseconds
  let ms = 0, rest = String(d).trim();
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let m;
  while (rest.length && (m = re.exec(rest))) {
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
    rest = rest.slice(re.lastIndex); re.lastIndex = 0;
  }
  if (rest.length) throw new Error(`bad duration "${d}"`);
  return ms;
}

export { TrendStat };
