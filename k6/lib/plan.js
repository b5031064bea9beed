// The load-test plan in one place: stages and their deployment specs, the SLA, think times,
// and the scenario builders every script in k6/ uses. Sizes and scale come from -e:
//   BASE_URL, JWT_SECRET (required), STAGE=1..4|all, DURATION_SCALE (e.g. 0.25 for --quick),
//   RATE_SCALE, PROFILE=smoke, USER_BASE (first user id, default 1), HOT_RATIO.

export const SLA = { p95Ms: 500, p99Ms: 1000, errorRate: 0.01, minTps: 500 };

// TPS = HTTP requests per second; a ticketing flow makes about REQUESTS_PER_FLOW requests.
export const REQUESTS_PER_FLOW = 5;
export const STAGES = [
  { id: 1, vus: 50, tps: 100, duration: 120, spec: { cpus: 1, memoryMb: 512 } },
  { id: 2, vus: 100, tps: 300, duration: 120, spec: { cpus: 1, memoryMb: 512 } },
  { id: 3, vus: 200, tps: 500, duration: 180, spec: { cpus: 2, memoryMb: 1024 } },
  { id: 4, vus: 500, tps: 1000, duration: 180, spec: { cpus: 2, memoryMb: 2048 } },
];
// Stress: flows/s climbs in steps past stage 4 until the SLA breaks (abortOnFail).
export const STRESS = { startFlowsPerSec: 20, stepFlowsPerSec: 40, steps: 18, stepSeconds: 20, vus: 1200, spec: STAGES[3].spec };
// Spike: ticket-open - a calm baseline, ten times the flow within seconds, then calm again.
export const SPIKE = { baseFlowsPerSec: 20, peakFlowsPerSec: 200, baseSeconds: 30, rampSeconds: 5, peakSeconds: 60, vus: 500, spec: STAGES[3].spec };

// Pauses of a person between the steps of the flow (seconds, uniform).
export const THINK = { min: 0.05, max: 0.25 };
export const QUEUE = { maxWaitSeconds: 120, minPollSeconds: 0.2, maxPollSeconds: 5 };
export const MONEY = { initialCharge: 3000000, topUp: 3000000, maxPrice: 150000 };

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);
export const DURATION_SCALE = Number(env('DURATION_SCALE', 1));
export const RATE_SCALE = Number(env('RATE_SCALE', 1));
export const SMOKE = env('PROFILE', '') === 'smoke';
const secs = (s) => `${Math.max(1, Math.round(s * DURATION_SCALE))}s`;

export function thinkTime() {
  return THINK.min + Math.random() * (THINK.max - THINK.min);
}

// The SLA as k6 thresholds. 409/429 are business answers (see api.js), so they are neither
// "failed" nor excluded from latency; abortOnFail stops a stress run at the knee.
export function slaThresholds({ abortOnFail = false, apis = [] } = {}) {
  const lat = (expr) => (abortOnFail ? { threshold: expr, abortOnFail: true, delayAbortEval: '20s' } : expr);
  const t = {
    'http_req_duration{expected_response:true}': [lat(`p(95)<${SLA.p95Ms}`), lat(`p(99)<${SLA.p99Ms}`)],
    http_req_failed: [lat(`rate<${SLA.errorRate}`)],
    consistency_errors: ['count==0'],
    checks: ['rate>0.99'],
  };
  for (const api of apis) t[`http_req_duration{api:${api}}`] = [`p(95)<${SLA.p95Ms}`];
  return t;
}
export const FLOW_APIS = ['queue_token', 'concert', 'temporary_assign', 'balance', 'confirm'];

function arrival(flowsPerSec, seconds, vus, exec, rampSeconds) {
  const rate = Math.max(1, Math.round(flowsPerSec * RATE_SCALE));
  const ramp = rampSeconds ?? Math.max(2, seconds * 0.1);
  return {
    executor: 'ramping-arrival-rate', exec, startRate: Math.max(1, Math.round(rate / 10)), timeUnit: '1s',
    preAllocatedVUs: vus, maxVUs: vus, gracefulStop: '60s',
    stages: [{ target: rate, duration: secs(ramp) }, { target: rate, duration: secs(seconds - ramp) }],
  };
}

export function stageScenario(stage, exec = 'flow') {
  return arrival(stage.tps / REQUESTS_PER_FLOW, stage.duration, stage.vus, exec);
}

export function selectedStages() {
  const s = env('STAGE', '1');
  return s === 'all' ? STAGES : [STAGES[Number(s) - 1]].filter(Boolean);
}

// Load test: the chosen stage, or all four back to back with STAGE=all.
export function loadScenarios() {
  if (SMOKE) return smokeScenarios();
  const out = {};
  let start = 0;
  for (const st of selectedStages()) {
    out[`stage${st.id}`] = { ...stageScenario(st), startTime: secs(start), tags: { stage: String(st.id) } };
    start += st.duration + 10;
  }
  return out;
}

export function stressScenarios() {
  if (SMOKE) return smokeScenarios();
  const s = STRESS, stages = [];
  for (let i = 0; i < s.steps; i++) {
    const target = Math.round((s.startFlowsPerSec + i * s.stepFlowsPerSec) * RATE_SCALE);
    stages.push({ target, duration: secs(3) }, { target, duration: secs(s.stepSeconds - 3) });
  }
  return { stress: { executor: 'ramping-arrival-rate', exec: 'flow', startRate: s.startFlowsPerSec, timeUnit: '1s',
    preAllocatedVUs: s.vus, maxVUs: s.vus, gracefulStop: '60s', stages } };
}

export function spikeScenarios() {
  if (SMOKE) return smokeScenarios();
  const s = SPIKE, base = Math.round(s.baseFlowsPerSec * RATE_SCALE), peak = Math.round(s.peakFlowsPerSec * RATE_SCALE);
  return { spike: { executor: 'ramping-arrival-rate', exec: 'flow', startRate: base, timeUnit: '1s',
    preAllocatedVUs: s.vus, maxVUs: s.vus, gracefulStop: '60s', stages: [
      { target: base, duration: secs(s.baseSeconds) }, { target: peak, duration: `${s.rampSeconds}s` },
      { target: peak, duration: secs(s.peakSeconds) }, { target: base, duration: `${s.rampSeconds}s` },
      { target: base, duration: secs(s.baseSeconds) }] } };
}

// One priority API alone, at the stage's request rate.
export function apiScenarios(exec) {
  if (SMOKE) return { [exec]: { executor: 'constant-arrival-rate', exec, rate: 5, timeUnit: '1s', duration: '8s', preAllocatedVUs: 4, maxVUs: 10 } };
  const out = {};
  for (const st of selectedStages()) {
    out[`${exec}_stage${st.id}`] = { ...arrival(st.tps, st.duration, st.vus, exec), tags: { stage: String(st.id) } };
  }
  return out;
}

// CI smoke: every exec function briefly, at once, in well under a minute.
export function smokeScenarios() {
  const c = (exec, rate, vus) => ({ executor: 'constant-arrival-rate', exec, rate, timeUnit: '1s', duration: '12s', preAllocatedVUs: vus, maxVUs: vus * 2 });
  return { flow: c('flow', 8, 8), confirm_only: c('confirmOnly', 3, 3), assign_only: c('assignOnly', 3, 3), balance_only: c('balanceOnly', 10, 3) };
}

// Users: each VU owns one user, so the VU alone moves its money and can predict its balance.
export function totalVUs(scenarios) {
  return Object.values(scenarios).reduce((a, s) => a + (s.maxVUs || s.vus || 0), 0);
}
export const USER_BASE = Number(env('USER_BASE', 1));
export const HOT_RATIO = Number(env('HOT_RATIO', 0.05));
export const HOT_SEATS = 10;
