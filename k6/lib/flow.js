// The ticketing flow of the plan (queue -> concert -> temporary-assign -> balance -> confirm),
// the single-API exec functions, setup() and teardown(). Each VU owns one user (USER_BASE +
// VU - 1) and tracks the balance it expects; every balance the server reports is compared with
// it, so a lost or doubled payment shows up as consistency_errors at once.
import { check, sleep, fail } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import * as api from './api.js';
import { mintToken } from './jwt.js';
import { QUEUE, MONEY, USER_BASE, HOT_RATIO, HOT_SEATS, thinkTime, totalVUs } from './plan.js';

const CONCERT_ID = Number(__ENV.CONCERT_ID || 1);
const SCHEDULE_ID = Number(__ENV.SCHEDULE_ID || 1);

export const m = {
  flowDuration: new Trend('flow_duration', true),
  queueWait: new Trend('queue_wait', true),
  flowsCompleted: new Counter('flows_completed'),
  flowsAbandoned: new Counter('flows_abandoned'),
  paymentsOk: new Counter('payments_ok'),
  paidKrw: new Counter('paid_krw'),
  topUpKrw: new Counter('topup_krw'),
  conflicts: new Counter('business_conflicts'),
  consistencyErrors: new Counter('consistency_errors'),
  teardownBalance: new Counter('teardown_balance_total'),
  setupBalance: new Counter('setup_balance_total'),
  teardownSold: new Counter('teardown_sold_seats'),
};

const RUN_ID = __ENV.RUN_ID || `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

// ---- setup and teardown -------------------------------------------------------------------
export function prepare(scenarios) {
  const secret = __ENV.JWT_SECRET;
  if (!secret) fail('JWT_SECRET is required (-e JWT_SECRET=...; the stack writes it to $STACK/env)');
  const n = totalVUs(scenarios);
  const users = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const id = USER_BASE + i;
    const token = mintToken(secret, id);
    const r = retrying(() => api.charge(token, id, MONEY.initialCharge, `setup-${RUN_ID}-${id}`));
    if (r.status !== 200) fail(`setup: charging user ${id} answered ${r.status}: ${r.body}`);
    const bal = api.jsonOf(r).balance;
    total += bal;
    users.push({ id, token, balance: bal });
  }
  const q = api.queueToken(users[0].token, CONCERT_ID);
  const queueEnabled = q.status !== 404;
  if (!queueEnabled) console.warn('POST /api/queue/token answered 404: the queue step is skipped in this run');
  const s = api.seats(CONCERT_ID, SCHEDULE_ID);
  if (s.status !== 200) fail(`setup: seat map answered ${s.status}`);
  const seatList = api.jsonOf(s).seats.filter((x) => x.status === 'AVAILABLE');
  const seatRanges = toRanges(seatList.map((x) => x.id));
  if (!seatList.length) fail('setup: no AVAILABLE seat in the schedule (reset the stack with more TICKETING_SEED_SEATS)');
  m.setupBalance.add(total);
  console.log(`setup: ${n} users charged (total balance ${total}), ${seatList.length} seats available, queue ${queueEnabled ? 'on' : 'off'}, run ${RUN_ID}`);
  return { runId: RUN_ID, users, seatRanges, seatCount: seatList.length, queueEnabled, setupTotal: total, scenarioNames: Object.keys(scenarios) };
}

export function verify(data) {
  sleep(1.5); // the seat map is cached up to TICKETING_CATALOG_CACHE_MS (1 s)
  let total = 0, negative = 0, errors = 0;
  for (const u of data.users) {
    const r = retrying(() => api.balance(u.token, u.id));
    if (r.status !== 200) { errors++; continue; }
    const b = api.jsonOf(r).balance;
    if (b < 0) negative++;
    total += b;
  }
  const s = api.seats(CONCERT_ID, SCHEDULE_ID);
  let sold = 0;
  for (const x of api.jsonOf(s).seats) if (x.status === 'SOLD' && inRanges(data.seatRanges, x.id)) sold++;
  m.teardownBalance.add(total);
  m.teardownSold.add(sold);
  console.log(`teardown: balance total ${total} (setup ${data.setupTotal}), ${sold} of the run's seats SOLD, ${negative} negative balances, ${errors} unreadable`);
  if (negative || errors) {
    m.consistencyErrors.add(negative + errors);
    fail(`teardown: ${negative} negative balances, ${errors} balances unreadable`);
  }
}

// A request whose answer was lost (timeout, 5xx) may still have moved money: repeat it - with
// the same Idempotency-Key for writes - until the server gives a definite answer.
function retrying(send, attempts = 5) {
  let r = send();
  for (let i = 1; i < attempts && (r.status === 0 || r.status >= 500); i++) {
    sleep(Number(r.headers['Retry-After']) || 0.5 * i);
    r = send();
  }
  return r;
}

// ---- per-VU state -------------------------------------------------------------------------
let me = null;
function user(data) {
  if (me) return me;
  const u = data.users[(__VU - 1) % data.users.length];
  me = { ...u, expected: u.balance, queueToken: null, topUps: 0, exclusive: __VU <= data.users.length };
  return me;
}

function expectBalance(actual, where) {
  if (!me.exclusive) return;
  if (actual !== me.expected) {
    m.consistencyErrors.add(1, { where });
    console.error(`consistency: user ${me.id} ${where} balance ${actual}, expected ${me.expected}`);
    me.expected = actual; // report once, then follow the server
  }
}

function topUpIfLow() {
  if (me.expected >= MONEY.maxPrice) return;
  const key = `topup-${RUN_ID}-${me.id}-${me.topUps++}`;
  const r = retrying(() => api.charge(me.token, me.id, MONEY.topUp, key));
  if (check(r, { 'charge 200': (x) => x.status === 200 })) {
    me.expected += MONEY.topUp;
    m.topUpKrw.add(MONEY.topUp);
    expectBalance(api.jsonOf(r).balance, 'charge');
  }
}

// Global seat order: the i-th iteration of the test takes the i-th available seat; a few take
// one of the first HOT_SEATS seats instead, so holds also meet the hot-seat race.
function pickSeat(data) {
  const n = data.seatCount;
  if (Math.random() < HOT_RATIO) return seatAt(data.seatRanges, Math.floor(Math.random() * Math.min(HOT_SEATS, n)));
  const k = data.scenarioNames.length;
  const slot = exec.scenario.iterationInTest * k + data.scenarioNames.indexOf(exec.scenario.name);
  return seatAt(data.seatRanges, (HOT_SEATS + slot) % n);
}

// Seat ids travel to every VU as [first, last] ranges: 100,000 seats are a few numbers.
function toRanges(ids) {
  const out = [];
  for (const id of ids.sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && id === last[1] + 1) last[1] = id; else out.push([id, id]);
  }
  return out;
}
function seatAt(ranges, i) {
  for (const [a, b] of ranges) { if (i <= b - a) return a + i; i -= b - a + 1; }
  return ranges[0][0];
}
function inRanges(ranges, id) {
  for (const [a, b] of ranges) if (id >= a && id <= b) return true;
  return false;
}

// ---- the steps ----------------------------------------------------------------------------
function enterQueue(data) {
  if (!data.queueEnabled) return 'skipped';
  const t0 = Date.now();
  let r = api.queueToken(me.token, CONCERT_ID);
  if (!check(r, { 'queue token 200/201': (x) => x.status === 200 || x.status === 201 })) return null;
  let q = api.jsonOf(r);
  me.queueToken = q.token;
  while (q.status !== 'ACTIVE') {
    if (q.status === 'EXPIRED' || (Date.now() - t0) / 1000 > QUEUE.maxWaitSeconds) return null;
    const hinted = Number(r.headers['Retry-After']) || q.pollAfterSeconds || q.estimatedWaitSeconds || 1;
    sleep(Math.min(QUEUE.maxPollSeconds, Math.max(QUEUE.minPollSeconds, hinted)));
    r = api.queueStatus(me.token, me.queueToken);
    if (!check(r, { 'queue status 200': (x) => x.status === 200 })) return null;
    q = api.jsonOf(r);
  }
  m.queueWait.add(Date.now() - t0);
  return me.queueToken;
}

function hold(data, queueTok) {
  const seatId = pickSeat(data);
  const r = api.temporaryAssign(me.token, queueTok === 'skipped' ? null : queueTok, SCHEDULE_ID, seatId);
  check(r, { 'hold 201/200/409': (x) => [200, 201, 409].includes(x.status) });
  if (r.status === 409) { m.conflicts.add(1, { api: 'temporary_assign' }); return null; }
  if (r.status === 403) me.queueToken = null; // admission expired: queue again next time
  return r.status === 200 || r.status === 201 ? api.jsonOf(r) : null;
}

function pay(held) {
  const key = `pay-${RUN_ID}-${held.reservationId}`;
  const r = retrying(() => api.confirm(me.token, held.reservationId, key));
  check(r, { 'confirm 200/409': (x) => x.status === 200 || x.status === 409 });
  if (r.status === 200) {
    const p = api.jsonOf(r);
    me.queueToken = null; // a payment ends the waiting-room session: queue again for the next
    me.expected -= p.amount;
    m.paymentsOk.add(1);
    m.paidKrw.add(p.amount);
    if (p.amount !== held.price) { m.consistencyErrors.add(1, { where: 'amount' }); console.error(`consistency: paid ${p.amount} for a ${held.price} hold`); }
    expectBalance(p.balance, 'confirm');
    return true;
  }
  if (r.status === 409) m.conflicts.add(1, { api: 'confirm' });
  if (r.status === 402) { m.consistencyErrors.add(1, { where: 'unexpected 402' }); console.error(`consistency: 402 for user ${me.id} expecting ${me.expected}`); }
  return false;
}

function readBalance(where) {
  const r = api.balance(me.token, me.id);
  if (check(r, { 'balance 200': (x) => x.status === 200 })) expectBalance(api.jsonOf(r).balance, where);
}

export function flow(data) {
  user(data);
  const t0 = Date.now();
  topUpIfLow();
  const queueTok = enterQueue(data);
  if (!queueTok) { me.queueToken = null; m.flowsAbandoned.add(1, { step: 'queue' }); return; }
  sleep(thinkTime());
  check(api.concert(CONCERT_ID), { 'concert 200': (x) => x.status === 200 });
  sleep(thinkTime());
  const held = hold(data, queueTok);
  if (!held) { m.flowsAbandoned.add(1, { step: 'hold' }); return; }
  sleep(thinkTime());
  readBalance('balance');
  sleep(thinkTime());
  if (pay(held)) { m.flowsCompleted.add(1); m.flowDuration.add(Date.now() - t0); } else m.flowsAbandoned.add(1, { step: 'confirm' });
}

// Priority APIs alone: the least other traffic the API needs, and no think time.
export function confirmOnly(data) {
  user(data);
  topUpIfLow();
  const queueTok = me.queueToken || enterQueue(data);
  if (!queueTok) return;
  const held = hold(data, queueTok);
  if (held) pay(held);
}

export function assignOnly(data) {
  user(data);
  const queueTok = me.queueToken || enterQueue(data);
  if (queueTok) hold(data, queueTok);
}

export function balanceOnly(data) {
  user(data);
  readBalance('balance');
}
