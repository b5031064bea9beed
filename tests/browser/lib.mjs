// Helpers of the browser tests: the stack's settings, a fresh Chromium per test, direct API
// calls (to set up or check what the page did), and screenshots under artifacts/.
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(HERE, 'artifacts');

/** TICKETING_* settings of the running stack, from $TICKETING_STACK_DIR/env. */
export function stackEnv() {
  const dir = process.env.TICKETING_STACK_DIR;
  if (!dir) throw new Error('TICKETING_STACK_DIR must name a running stack (scripts/stack up)');
  const env = {};
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = line.match(/^(?:export\s+)?([A-Z0-9_]+)=(.*)$/);
    if (m) env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  return env;
}

export const ENV = stackEnv();
export const BASE = ENV.TICKETING_BASE_URL || `http://127.0.0.1:${ENV.TICKETING_HTTP_PORT || 8080}`;
export const HOLD_TTL = Number(ENV.TICKETING_HOLD_TTL_SECONDS || 300);

// Users of their own per run (the e2e suites use low ids), so reruns and other suites on the
// same stack do not share queue entries or wallets with these tests.
let nextUser = 601 + Math.floor(Math.random() * 300);
export function freshUser() {
  const u = nextUser;
  nextUser = nextUser >= 1000 ? 601 : nextUser + 1;
  return u;
}

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** A fresh headless Chromium with its own profile dir; returns {context, page, close}. */
export async function openBrowser({ viewport = { width: 1280, height: 900 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'ticketing-web-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function shot(page, name, opts = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.mouse.move(0, 0).catch(() => {}); // no hover highlight in the picture
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), ...opts });
}

// ------------------------------------------------------------------ direct API calls

export async function call(path, { method, token, queueToken, key, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (queueToken) headers['X-Queue-Token'] = queueToken;
  if (key) headers['Idempotency-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method: method || (body !== undefined ? 'POST' : 'GET'),
    headers,
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: res.status, data };
}

export async function token(userId) {
  const r = await call('/api/dev/token', { body: { userId } });
  if (r.status !== 201) throw new Error(`dev token for ${userId}: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data.token;
}

export async function balance(userId, tok) {
  const r = await call(`/api/wallet/${userId}/balance`, { token: tok });
  if (r.status !== 200) throw new Error(`balance: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data.balance;
}

export async function chargeApi(userId, tok, amount) {
  const r = await call(`/api/wallet/${userId}/charge`, {
    token: tok, key: `test-charge-${userId}-${Date.now()}-${Math.random().toString(36).slice(2)}`, body: { amount },
  });
  if (r.status !== 200) throw new Error(`charge: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data.balance;
}

/** Another user takes a seat through the API: join the queue (until ACTIVE) and hold it. */
export async function holdAs(userId, scheduleId, seatId, concertId = 1) {
  const tok = await token(userId);
  let q = await call('/api/queue/token', { token: tok, body: { concertId } });
  for (let i = 0; i < 50 && q.data?.status !== 'ACTIVE'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    q = await call('/api/queue/status', { token: tok, queueToken: q.data.token });
  }
  if (q.data?.status !== 'ACTIVE') throw new Error(`user ${userId} not admitted: ${JSON.stringify(q.data)}`);
  return call('/api/reservations/temporary-assign', {
    token: tok, queueToken: q.data.token, body: { scheduleId, seatId },
  });
}

// ------------------------------------------------------------------ page steps

/** Sign in as userId for concertId and wait for the seat map (the local stack admits at once). */
export async function signInToSeats(page, userId, concertId = 1) {
  await page.goto(BASE + '/');
  await page.getByLabel('Demo user number').fill(String(userId));
  await page.locator('#concert option[value="2"]').waitFor({ state: 'attached' });
  await page.getByLabel('Concert').selectOption(String(concertId));
  await page.getByRole('button', { name: 'Sign in and join the queue' }).click();
  await page.locator('#screen-seats').waitFor({ state: 'visible' });
  await page.locator('#seatmap button.seat').first().waitFor();
}

/** An AVAILABLE seat of the zone (0 = most expensive), chosen at random to keep reruns apart. */
export async function availableSeat(page, zone = 2) {
  const ids = await page.locator(`#seatmap .zone-${zone} button.seat.s-AVAILABLE`).evaluateAll(
    (bs) => bs.map((b) => Number(b.dataset.id)),
  );
  if (!ids.length) throw new Error(`no AVAILABLE seat left in zone ${zone}`);
  return ids[Math.floor(Math.random() * ids.length)];
}

export const seatButton = (page, id) => page.locator(`#seatmap button.seat[data-id="${id}"]`);

/** Signs in, holds a random AVAILABLE seat of the zone and waits for checkout; returns the seat. */
export async function holdToCheckout(page, userId, zone = 2) {
  await signInToSeats(page, userId);
  const seat = await availableSeat(page, zone);
  await seatButton(page, seat).click();
  await page.locator('#screen-checkout').waitFor({ state: 'visible' });
  return seat;
}
