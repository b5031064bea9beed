// The browser client: demo sign-in -> waiting room -> seat map -> checkout -> confirmation.
// Plain ES modules, no build step. One screen is visible at a time; on every change the new
// screen's heading takes the focus so keyboard and screen-reader users land on it.
import { api, ApiError, newIdempotencyKey, serverNow } from './api.js';
import { SeatMap, won } from './seatmap.js';

const $ = (id) => document.getElementById(id);

const state = {
  userId: null,
  token: null, // bearer JWT from /api/dev/token
  concerts: new Map(), // id -> {id, title, schedules}
  concertId: 1,
  scheduleId: null,
  queue: null, // latest queue answer: {token, status, position, estimatedWaitSeconds, pollAfterSeconds, activeUntil}
  queueTimer: null,
  queueGen: 0, // bumps on every (re)join or leave, so stale polls drop their answers
  hold: null, // {reservationId, seatId, price, zone, expiresAt (ms)}
  holdTimer: null,
  payAttempt: null, // {key, reservationId}: one Idempotency-Key per checkout attempt
  paying: false,
  chargeAttempt: null, // {key, amount}: kept only while a charge must be retried
  charging: false,
  balance: null,
  seatsTimer: null,
  seatsLoading: null,
  taken: new Map(), // seat id -> until (ms): seats we know are taken, newer than the 1 s seat cache
  screen: 'signin',
  lastSpoken: null,
};

const screens = ['signin', 'queue', 'seats', 'checkout', 'done'];

function show(name, { focus = true } = {}) {
  state.screen = name;
  for (const s of screens) $(`screen-${s}`).hidden = s !== name;
  if (name !== 'seats') clearTimeout(state.seatsTimer);
  if (name !== 'checkout') stopHoldTimer();
  document.title = `${$(`${name === 'signin' ? 'signin' : name}-title`).textContent} · Tickets`;
  if (focus) $(`${name}-title`).focus();
}

function message(id, text, kind = 'error') {
  const el = $(id);
  if (!text) { el.hidden = true; el.textContent = ''; return; }
  el.className = `notice ${kind}`;
  el.textContent = text;
  el.hidden = false;
}

function concertTitle(id = state.concertId) {
  return state.concerts.get(id)?.title || `Concert ${id}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Human text for the answers every screen can get. */
function commonProblem(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e?.message || e}`;
  const wait = e.retryAfter ?? 1;
  switch (e.status) {
    case 0: return 'The server could not be reached. Check your connection and try again.';
    case 429: return `Too many requests right now. Please wait ${wait} second${wait === 1 ? '' : 's'} and try again.`;
    case 503: return `The service is busy for a moment. Please try again in ${wait} second${wait === 1 ? '' : 's'}.`;
    default: return e.problem.detail || e.problem.title || `The server answered ${e.status}.`;
  }
}

function signedOut(text) {
  leaveQueue();
  state.token = null;
  state.userId = null;
  $('who').hidden = true;
  show('signin');
  message('signin-msg', text, 'error');
}

/** 401 anywhere: the sign-in token expired or was refused. */
function handleAuth(e) {
  if (e instanceof ApiError && e.status === 401) {
    signedOut('Your sign-in has expired. Please sign in again.');
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- catalog

async function loadConcerts() {
  const sel = $('concert');
  const results = await Promise.allSettled([1, 2].map((id) => api(`/api/concerts/${id}`)));
  const opts = [];
  for (const r of results) {
    if (r.status !== 'fulfilled') continue;
    const c = r.value.data;
    state.concerts.set(c.id, c);
    opts.push(c);
  }
  if (opts.length) {
    const remembered = Number(localStorage.getItem('concertId')) || 1;
    sel.innerHTML = '';
    for (const c of opts) {
      const o = document.createElement('option');
      o.value = String(c.id);
      o.textContent = c.title;
      if (c.id === remembered) o.selected = true;
      sel.append(o);
    }
  }
}

// ---------------------------------------------------------------- 1. sign-in

async function signIn(ev) {
  ev.preventDefault();
  const input = $('user-id');
  const n = Number(input.value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    input.setAttribute('aria-invalid', 'true');
    message('signin-msg', 'Enter a demo user number from 1 to 1000.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  const btn = $('signin-submit');
  btn.disabled = true;
  message('signin-msg', 'Signing in…', 'info');
  try {
    const { data } = await api('/api/dev/token', { body: { userId: n } });
    state.userId = data.userId ?? n;
    state.token = data.token;
    state.concertId = Number($('concert').value) || 1;
    localStorage.setItem('userId', String(state.userId));
    localStorage.setItem('concertId', String(state.concertId));
    $('who-text').textContent = `Signed in as demo user ${state.userId}`;
    $('who').hidden = false;
    message('signin-msg', '');
    joinQueue();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405) && e.problem.detail !== 'no such demo user') {
      message('signin-msg', 'Demo sign-in is unavailable on this server: it is only switched on for the local demo stack.');
      $('signin-form').classList.add('unavailable');
    } else if (e instanceof ApiError && e.status === 404) {
      message('signin-msg', `There is no demo user ${n}. Try a number from 1 to 1000.`);
    } else {
      message('signin-msg', commonProblem(e));
    }
  } finally {
    btn.disabled = false;
  }
}

// ---------------------------------------------------------------- 2. waiting room

function leaveQueue() {
  state.queueGen++;
  clearTimeout(state.queueTimer);
  state.queue = null;
}

function renderQueue() {
  const q = state.queue;
  if (!q) return;
  if (q.status === 'WAITING') {
    $('queue-position').textContent = `You are number ${q.position} in line`;
    const s = q.estimatedWaitSeconds;
    $('queue-wait').textContent = s > 0 ? `Estimated wait: about ${formatDuration(s)}` : 'Almost there…';
    const first = state.queueFirstPosition || q.position;
    state.queueFirstPosition = first;
    const done = first > 0 ? Math.max(0, Math.min(1, 1 - q.position / first)) : 0;
    $('queue-bar').style.width = `${Math.round(5 + done * 95)}%`;
  } else if (q.status === 'ACTIVE') {
    $('queue-position').textContent = 'It is your turn!';
    $('queue-wait').textContent = 'Opening the seat map…';
    $('queue-bar').style.width = '100%';
  }
}

function formatDuration(s) {
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

/** (Re)join the concert's waiting room and show it. */
async function joinQueue(note) {
  leaveQueue();
  const gen = state.queueGen;
  state.queueFirstPosition = 0;
  $('queue-concert').textContent = concertTitle();
  $('queue-position').textContent = 'Joining the queue…';
  $('queue-wait').textContent = '';
  $('queue-next').textContent = '';
  $('queue-bar').style.width = '5%';
  message('queue-msg', note || '', 'info');
  show('queue');
  for (;;) {
    try {
      const { data } = await api('/api/queue/token', { token: state.token, body: { concertId: state.concertId } });
      if (gen !== state.queueGen) return;
      onQueueAnswer(data, gen);
      return;
    } catch (e) {
      if (gen !== state.queueGen) return;
      if (handleAuth(e)) return;
      if (e instanceof ApiError && (e.status === 429 || e.status === 503 || e.status === 0)) {
        const wait = Math.max(1, e.retryAfter ?? 2);
        message('queue-msg', `${commonProblem(e)} Retrying automatically in ${wait} s.`, 'info');
        await sleep(wait * 1000);
        if (gen !== state.queueGen) return;
        continue;
      }
      message('queue-msg', `Could not join the queue: ${commonProblem(e)}`);
      return;
    }
  }
}

/** Every queue answer (join or status) goes through here: its token is the one to use next. */
function onQueueAnswer(data, gen) {
  const prev = state.queue;
  state.queue = { ...data, token: data.token || prev?.token };
  if (data.status === 'EXPIRED') {
    if (state.screen === 'checkout' || state.screen === 'done') return; // paying needs no queue token
    joinQueue('Your place in the waiting room ran out, so you have joined it again.');
    return;
  }
  if (state.screen === 'queue') {
    if (data.status === 'WAITING' && !(prev && prev.status === 'WAITING')) message('queue-msg', '');
    renderQueue();
    if (data.status === 'ACTIVE') {
      enterSeats();
    }
  }
  schedulePoll(gen);
}

function schedulePoll(gen) {
  clearTimeout(state.queueTimer);
  const q = state.queue;
  if (!q || gen !== state.queueGen) return;
  const after = Math.max(1, Number(q.pollAfterSeconds) || (q.status === 'ACTIVE' ? 10 : 2));
  if (state.screen === 'queue' && q.status === 'WAITING') {
    $('queue-next').textContent = `Checking again in ${after} s.`;
  }
  state.queueTimer = setTimeout(() => pollQueue(gen), after * 1000);
}

async function pollQueue(gen) {
  if (gen !== state.queueGen || !state.queue) return;
  try {
    const { data } = await api('/api/queue/status', { token: state.token, queueToken: state.queue.token });
    if (gen !== state.queueGen) return;
    onQueueAnswer(data, gen);
  } catch (e) {
    if (gen !== state.queueGen) return;
    if (handleAuth(e)) return;
    if (e instanceof ApiError && e.status === 403 && state.screen !== 'checkout' && state.screen !== 'done') {
      joinQueue('Your waiting-room pass was not accepted, so you have joined the queue again.');
      return;
    }
    const wait = Math.max(1, e.retryAfter ?? 2);
    if (state.screen === 'queue') message('queue-msg', `${commonProblem(e)} Retrying in ${wait} s.`, 'info');
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(() => pollQueue(gen), wait * 1000);
  }
}

// ---------------------------------------------------------------- 3. seat map

const seatMap = new SeatMap($('seatmap'), (seat) => pickSeat(seat));

function fillSchedules() {
  const c = state.concerts.get(state.concertId);
  const sel = $('schedule');
  const schedules = c?.schedules || [];
  sel.innerHTML = '';
  const fmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  for (const s of schedules) {
    const o = document.createElement('option');
    o.value = String(s.id);
    o.textContent = fmt.format(new Date(s.startsAt));
    sel.append(o);
  }
  if (!schedules.some((s) => s.id === state.scheduleId)) state.scheduleId = schedules[0]?.id ?? null;
  if (state.scheduleId) sel.value = String(state.scheduleId);
}

async function enterSeats(note) {
  if (!state.concerts.has(state.concertId)) {
    try {
      const { data } = await api(`/api/concerts/${state.concertId}`);
      state.concerts.set(data.id, data);
    } catch { /* the select stays empty; the message below says why */ }
  }
  fillSchedules();
  $('seats-concert').textContent = concertTitle();
  message('seats-msg', note || '', note ? 'warn' : 'info');
  show('seats');
  loadSeats({ fresh: true });
  refreshBalance();
}

async function loadSeats({ fresh = false } = {}) {
  clearTimeout(state.seatsTimer);
  if (!state.scheduleId) {
    message('seats-msg', 'This concert has no dates on sale.');
    return;
  }
  const scheduleId = state.scheduleId;
  const req = api(`/api/concerts/${state.concertId}/schedules/${scheduleId}/seats`);
  state.seatsLoading = req;
  $('seatmap').setAttribute('aria-busy', 'true');
  try {
    const { data } = await req;
    if (state.seatsLoading !== req) return;
    const now = Date.now();
    const seats = data.seats.map((s) => {
      const until = state.taken.get(s.id);
      if (until && until > now && s.status === 'AVAILABLE') return { ...s, status: 'HELD' };
      return s;
    });
    if (fresh || !seatMap.update(seats)) seatMap.render(seats);
    const { available, total } = seatMap.counts();
    $('seats-summary').textContent = `${available} of ${total} seats available.`;
  } catch (e) {
    if (state.seatsLoading !== req) return;
    message('seats-msg', `Could not load the seats: ${commonProblem(e)}`);
  } finally {
    if (state.seatsLoading === req) $('seatmap').setAttribute('aria-busy', seatMap.busy ? 'true' : 'false');
  }
  if (state.screen === 'seats' && state.scheduleId === scheduleId) {
    state.seatsTimer = setTimeout(() => loadSeats(), 10000);
  }
}

async function refreshBalance() {
  try {
    const { data } = await api(`/api/wallet/${state.userId}/balance`, { token: state.token });
    state.balance = data.balance;
  } catch (e) {
    if (handleAuth(e)) return;
    state.balance = null;
  }
  renderBalance();
}

function renderBalance() {
  const text = state.balance == null ? 'unknown' : won.format(state.balance);
  $('seats-balance').textContent = text;
  $('co-balance').textContent = text;
  const h = state.hold;
  const short = $('co-shortfall');
  if (h && state.balance != null && state.balance < h.price) {
    const need = h.price - state.balance;
    short.textContent = `You need ${won.format(need)} more to pay for this seat. Add money below.`;
    short.hidden = false;
    const amt = $('charge-amount');
    if (!amt.dataset.touched) amt.value = String(need);
  } else {
    short.hidden = true;
  }
}

async function pickSeat(seat) {
  if (seat.status !== 'AVAILABLE') {
    message('seats-msg', `Seat ${seat.id} is ${seat.status === 'SOLD' ? 'sold' : 'held by someone else'}. Please pick an available seat.`, 'warn');
    return;
  }
  if (!state.queue || state.queue.status !== 'ACTIVE') {
    joinQueue('Your waiting-room session ended. You have joined the queue again.');
    return;
  }
  seatMap.setBusy(true);
  message('seats-msg', `Holding seat ${seat.id}…`, 'info');
  try {
    const { data } = await api('/api/reservations/temporary-assign', {
      token: state.token, queueToken: state.queue.token,
      body: { scheduleId: state.scheduleId, seatId: seat.id },
    });
    state.hold = {
      reservationId: data.reservationId,
      seatId: data.seatId ?? seat.id,
      scheduleId: data.scheduleId ?? state.scheduleId,
      price: data.price ?? seat.price,
      zone: seat.zone,
      expiresAt: Date.parse(data.expiresAt),
    };
    message('seats-msg', '');
    enterCheckout();
  } catch (e) {
    if (handleAuth(e)) return;
    if (e instanceof ApiError && e.status === 409) {
      state.taken.set(seat.id, Date.now() + 3000);
      seatMap.setStatus(seat.id, 'HELD');
      message('seats-msg', `Sorry, seat ${seat.id} was just taken by someone else. The map has been refreshed: please pick another seat.`, 'warn');
      await loadSeats();
    } else if (e instanceof ApiError && e.status === 403) {
      joinQueue('Your waiting-room session is no longer active, so you have joined the queue again.');
    } else {
      message('seats-msg', `Could not hold seat ${seat.id}: ${commonProblem(e)}`);
    }
  } finally {
    seatMap.setBusy(false);
  }
}

// ---------------------------------------------------------------- 4. checkout

function enterCheckout() {
  const h = state.hold;
  $('co-seat').textContent = `Seat ${h.seatId}`;
  $('co-zone').textContent = h.zone || '–';
  $('co-price').textContent = won.format(h.price);
  $('pay').textContent = `Pay ${won.format(h.price)}`;
  $('pay').disabled = false;
  $('charge-amount').value = '';
  delete $('charge-amount').dataset.touched;
  state.payAttempt = { key: newIdempotencyKey('pay'), reservationId: h.reservationId };
  state.paying = false;
  state.lastSpoken = null;
  message('checkout-msg', '');
  show('checkout');
  renderBalance();
  refreshBalance();
  startHoldTimer();
}

function stopHoldTimer() {
  clearInterval(state.holdTimer);
  state.holdTimer = null;
}

function startHoldTimer() {
  stopHoldTimer();
  tickHold();
  state.holdTimer = setInterval(tickHold, 250);
}

function tickHold() {
  const h = state.hold;
  if (!h) return;
  const left = Math.max(0, Math.ceil((h.expiresAt - serverNow()) / 1000));
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, '0');
  $('co-countdown').textContent = `${mm}:${ss}`;
  $('co-countdown').classList.toggle('urgent', left <= 30);
  // Screen readers hear the countdown at a few milestones, not every second.
  const milestone = [240, 180, 120, 60, 30, 10].find((m) => left <= m && left > m - 1);
  if (milestone && state.lastSpoken !== milestone) {
    state.lastSpoken = milestone;
    $('co-countdown-live').textContent = `${left} seconds left to pay for seat ${h.seatId}.`;
  }
  if (left <= 0 && !state.paying) holdExpired();
}

function holdExpired() {
  const h = state.hold;
  stopHoldTimer();
  state.hold = null;
  state.payAttempt = null;
  enterSeats(`Your hold on seat ${h ? h.seatId : ''} expired before payment, so nothing was charged. Please pick a seat again.`);
}

async function pay() {
  const attempt = state.payAttempt;
  if (!attempt || state.paying) return; // a second click while the first is in flight does nothing
  state.paying = true;
  const btn = $('pay');
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  const label = btn.textContent;
  btn.textContent = 'Paying…';
  message('checkout-msg', 'Paying…', 'info');
  let retryIn = 0;
  try {
    const { data } = await api('/api/reservations/confirm', {
      token: state.token, idempotencyKey: attempt.key, body: { reservationId: attempt.reservationId },
    });
    await paid(data);
    return;
  } catch (e) {
    if (handleAuth(e)) return;
    const status = e instanceof ApiError ? e.status : -1;
    if (status === 402) {
      // A definitive answer: the server replays it for this key, so the next try is a new attempt.
      state.payAttempt = { key: newIdempotencyKey('pay'), reservationId: attempt.reservationId };
      await refreshBalance();
      const need = state.hold && state.balance != null ? state.hold.price - state.balance : null;
      message('checkout-msg', `Not enough money in your wallet${need > 0 ? `: you need ${won.format(need)} more` : ''}. Add money and press Pay again. Nothing was charged.`);
    } else if (status === 409) {
      await afterConflict(attempt);
      return;
    } else if (status === 429 || status === 503 || status === 0) {
      // Not an answer about the payment: the same attempt (same key) is retried, so it is paid at most once.
      retryIn = status === 0 ? 0 : Math.max(1, e.retryAfter ?? 1);
      message('checkout-msg', status === 429
        ? `Too many requests right now. Please wait ${retryIn} second${retryIn === 1 ? '' : 's'}, then press Pay again; you will be charged only once.`
        : `${commonProblem(e)} Press Pay again; you will be charged only once.`);
    } else if (status === 403 || status === 404) {
      message('checkout-msg', `This reservation cannot be paid: ${commonProblem(e)}`);
    } else {
      message('checkout-msg', `Payment failed: ${commonProblem(e)}`);
    }
  } finally {
    state.paying = false;
    btn.removeAttribute('aria-busy');
    if (state.screen === 'checkout') {
      btn.textContent = label;
      if (retryIn) setTimeout(() => { if (state.payAttempt === attempt) btn.disabled = false; }, retryIn * 1000);
      else btn.disabled = false;
    }
  }
}

/** 409 on confirm: the hold expired, or (another tab) it is already paid. */
async function afterConflict(attempt) {
  try {
    const { data } = await api(`/api/reservations/${attempt.reservationId}`, { token: state.token });
    if (data.status === 'CONFIRMED') {
      await paid({ reservationId: data.reservationId, amount: data.price, status: data.status });
      return;
    }
  } catch { /* fall through to the expired message */ }
  const seatId = state.hold?.seatId;
  state.hold = null;
  state.payAttempt = null;
  enterSeats(`Your hold on seat ${seatId} expired before the payment went through, so nothing was charged. Please pick a seat again.`);
}

async function paid(data) {
  stopHoldTimer();
  const h = state.hold;
  state.hold = null;
  state.payAttempt = null;
  leaveQueue(); // a payment ends the waiting-room session
  $('done-concert').textContent = concertTitle();
  $('done-seat').textContent = h ? `Seat ${h.seatId} (${h.zone} zone)` : '–';
  $('done-reservation').textContent = `#${data.reservationId}`;
  $('done-status').textContent = data.status === 'CONFIRMED' ? 'Confirmed' : data.status;
  $('done-when-row').hidden = true;
  $('done-amount').textContent = data.amount != null ? won.format(data.amount) : '–';
  $('done-payment').textContent = data.paymentId != null ? `#${data.paymentId}` : '–';
  if (data.balance != null) state.balance = data.balance;
  $('done-balance').textContent = state.balance != null ? won.format(state.balance) : '–';
  show('done');
  try {
    const { data: r } = await api(`/api/reservations/${data.reservationId}`, { token: state.token });
    $('done-status').textContent = r.status === 'CONFIRMED' ? 'Confirmed' : r.status;
    if (r.confirmedAt) {
      $('done-when').textContent = new Date(r.confirmedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
      $('done-when-row').hidden = false;
    }
  } catch { /* the confirm answer already said CONFIRMED */ }
}

async function charge(ev) {
  ev.preventDefault();
  if (state.charging) return;
  const input = $('charge-amount');
  const amount = Number(input.value);
  if (!Number.isInteger(amount) || amount < 1 || amount > 10000000) {
    input.setAttribute('aria-invalid', 'true');
    message('checkout-msg', 'Enter an amount from 1 to 10,000,000 won.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  // Reuse the key only to retry the same charge after an answer that said nothing about it.
  if (!state.chargeAttempt || state.chargeAttempt.amount !== amount) {
    state.chargeAttempt = { key: newIdempotencyKey('charge'), amount };
  }
  const attempt = state.chargeAttempt;
  state.charging = true;
  const btn = $('charge-submit');
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    const { data } = await api(`/api/wallet/${state.userId}/charge`, {
      token: state.token, idempotencyKey: attempt.key, body: { amount },
    });
    state.chargeAttempt = null;
    state.balance = data.balance;
    input.value = '';
    delete input.dataset.touched;
    renderBalance();
    message('checkout-msg', `Added ${won.format(amount)}. Your balance is now ${won.format(data.balance)}.`, 'ok');
  } catch (e) {
    if (handleAuth(e)) return;
    const status = e instanceof ApiError ? e.status : -1;
    if (status !== 429 && status !== 503 && status !== 0) state.chargeAttempt = null;
    message('checkout-msg', status === 409
      ? `Could not add money: ${e.problem.detail || 'your wallet would go over its limit.'}`
      : `Could not add money: ${commonProblem(e)}`);
  } finally {
    state.charging = false;
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------- wiring

function init() {
  const u = Number(localStorage.getItem('userId'));
  if (u >= 1 && u <= 1000) $('user-id').value = String(u);
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signedOut(''));
  $('queue-leave').addEventListener('click', () => { leaveQueue(); show('signin'); });
  $('schedule').addEventListener('change', () => {
    state.scheduleId = Number($('schedule').value);
    message('seats-msg', '');
    loadSeats({ fresh: true });
  });
  $('seats-refresh').addEventListener('click', () => loadSeats());
  $('charge-form').addEventListener('submit', charge);
  $('charge-amount').addEventListener('input', (e) => { e.target.dataset.touched = '1'; });
  $('pay').addEventListener('click', pay);
  $('checkout-back').addEventListener('click', () => {
    const h = state.hold;
    state.hold = null;
    state.payAttempt = null;
    enterSeats(h ? `Seat ${h.seatId} stays held for you until its timer runs out; then it is released.` : '');
  });
  $('done-again').addEventListener('click', () => joinQueue());
  show('signin', { focus: false });
  loadConcerts();
}

init();
