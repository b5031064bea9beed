// k6 executors scheduled from the main thread: constant/ramping-arrival-rate (open model:
// iterations start on the clock whether or not earlier ones finished, so a slow server cannot
// slow the load down - no coordinated omission), ramping/constant-vus, per-vu/shared-iterations.
import { ParseDuration } from './metrics.mjs';

export function NormalizeScenarios(options) {
  let scenarios = options.scenarios;
  if (!scenarios || !Object.keys(scenarios).length) {
    if (options.stages) scenarios = { default: { executor: 'ramping-vus', startVUs: options.vus || 1, stages: options.stages } };
    else if (options.duration) scenarios = { default: { executor: 'constant-vus', vus: options.vus || 1, duration: options.duration } };
    else scenarios = { default: { executor: 'per-vu-iterations', vus: options.vus || 1, iterations: options.iterations || 1 } };
  }
  return Object.entries(scenarios).map(([name, s], index) => {
    const sc = { ...s, name, index, exec: s.exec || 'default', startMs: ParseDuration(s.startTime || '0s'),
      gracefulStopMs: ParseDuration(s.gracefulStop || '30s') };
    switch (s.executor) {
      case 'constant-arrival-rate':
      case 'ramping-arrival-rate': {
        const unit = ParseDuration(s.timeUnit || '1s');
        sc.segments = [];
        if (s.executor === 'constant-arrival-rate') {
          sc.segments.push({ dur: ParseDuration(s.duration), r0: s.rate / unit, r1: s.rate / unit });
        } else {
          let r = (s.startRate || 0) / unit;
          for (const st of s.stages) { const r1 = st.target / unit; sc.segments.push({ dur: ParseDuration(st.duration), r0: r, r1 }); r = r1; }
        }
        sc.durationMs = sc.segments.reduce((a, g) => a + g.dur, 0);
        sc.initialVUs = s.preAllocatedVUs ?? 1;
        sc.maxVUs = Math.max(s.maxVUs ?? sc.initialVUs, sc.initialVUs);
        sc.kind = 'arrival';
        break;
      }
      case 'ramping-vus':
      case 'constant-vus': {
        sc.stages = s.executor === 'constant-vus' ? [{ target: s.vus || 1, duration: s.duration }] : s.stages;
        sc.startVUs = s.executor === 'constant-vus' ? s.vus || 1 : s.startVUs ?? 1;
        sc.durationMs = sc.stages.reduce((a, g) => a + ParseDuration(g.duration), 0);
        sc.maxVUs = Math.max(sc.startVUs, ...sc.stages.map((g) => g.target));
        sc.initialVUs = sc.maxVUs;
        sc.gracefulRampDownMs = ParseDuration(s.gracefulRampDown || '30s');
        sc.kind = 'vus';
        break;
      }
      case 'per-vu-iterations':
      case 'shared-iterations':
        sc.maxVUs = sc.initialVUs = s.vus || 1;
        sc.durationMs = ParseDuration(s.maxDuration || '10m');
        sc.kind = 'iterations';
        break;
      default:
        throw new Error(`scenario ${name}: executor "${s.executor}" is not supported by the shim`);
    }
    return sc;
  });
}

// Planned arrivals from the start of the scenario to t ms: the integral of the rate.
export function ArrivalsUntil(sc, t) {
  let n = 0, at = 0;
  for (const g of sc.segments) {
    if (t <= at) break;
    const x = Math.min(t - at, g.dur);
    n += g.r0 * x + ((g.r1 - g.r0) * x * x) / (2 * g.dur || 1);
    at += g.dur;
  }
  return n;
}

export function RateAt(sc, t) { // per second, for progress lines and the time series
  if (sc.kind !== 'arrival') return 0;
  let at = 0;
  for (const g of sc.segments) {
    if (t < at + g.dur) return 1000 * (g.r0 + ((g.r1 - g.r0) * (t - at)) / (g.dur || 1));
    at += g.dur;
  }
  return 0;
}

export function VUsAt(sc, t) {
  if (sc.kind !== 'vus') return sc.maxVUs;
  let at = 0, v = sc.startVUs;
  for (const g of sc.stages) {
    const d = ParseDuration(g.duration);
    if (t < at + d) return Math.round(v + ((g.target - v) * (t - at)) / (d || 1));
    at += d; v = g.target;
  }
  return v;
}

// When the k-th arrival (1-based) was due, by bisection on the integral.
export function DueTime(sc, k, lo, hi) {
  for (let i = 0; i < 30 && hi - lo > 0.05; i++) {
    const mid = (lo + hi) / 2;
    if (ArrivalsUntil(sc, mid) >= k) hi = mid; else lo = mid;
  }
  return hi;
}
