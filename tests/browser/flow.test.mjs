// The web client (web/) end to end against the running stack, in headless Chromium.
// Run through tests/browser/run; screenshots land in tests/browser/artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, HOLD_TTL, availableSeat, balance, call, chargeApi, freshUser, holdAs, openBrowser,
  holdToCheckout, seatButton, shot, signInToSeats, token,
} from './lib.mjs';

const T = { timeout: 45000 };

/** Run body with a fresh browser; on failure keep a screenshot of where it stopped. */
async function withBrowser(name, body, opts) {
  const b = await openBrowser(opts);
  try {
    await body(b.page, b);
    assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot(b.page, `FAILED-${name}`, { fullPage: false }).catch(() => {});
    throw e;
  } finally {
    await b.close();
  }
}

const priceOf = (text) => Number(String(text).replace(/[^0-9]/g, ''));

test('sign-in, waiting room (position updates at the suggested interval, newest token), seat map, keyboard hold, 402, charge, pay, confirmation', T, async () => {
  await withBrowser('full-flow', async (page) => {
    const user = freshUser();
    const tok = await token(user);
    const before = await balance(user, tok);

    // The local stack admits at once, so the first answers are shown as WAITING: the join says
    // position 3 (ask again in 1 s), the first poll position 1 with a new token (ask again in
    // 2 s), and from then on the real server answers. The page must poll at those intervals
    // and send the newest token.
    let realToken = null;
    const polls = [];
    await page.route('**/api/queue/token', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      realToken = body.token;
      await route.fulfill({
        response: res,
        json: { ...body, status: 'WAITING', position: 3, estimatedWaitSeconds: 3, pollAfterSeconds: 1, activeUntil: undefined },
      });
    });
    await page.route('**/api/queue/status', async (route) => {
      const sent = route.request().headers()['x-queue-token'];
      polls.push({ at: Date.now(), sent });
      if (polls.length === 1) {
        await route.fulfill({
          status: 200,
          json: { token: 'rotated-by-test', concertId: 1, status: 'WAITING', position: 1, estimatedWaitSeconds: 1, pollAfterSeconds: 2 },
        });
      } else {
        await route.continue({ headers: { ...route.request().headers(), 'x-queue-token': realToken } });
      }
    });

    await page.goto(BASE + '/');
    await page.locator('#concert option[value="2"]').waitFor({ state: 'attached' });
    assert.match(await page.locator('#concert').innerText(), /IU 2026 Seoul Concert[\s\S]*NewJeans/);
    await page.getByLabel('Demo user number').fill(String(user));
    await shot(page, '01-sign-in');
    const joinedAt = Date.now();
    await page.getByRole('button', { name: 'Sign in and join the queue' }).click();

    await page.getByText('You are number 3 in line').waitFor();
    assert.equal(await page.locator('#queue-live').getAttribute('aria-live'), 'polite');
    await shot(page, '02-waiting-room');
    await page.getByText('You are number 1 in line').waitFor();
    await page.locator('#screen-seats').waitFor({ state: 'visible' });

    assert.ok(polls.length >= 2, 'polled twice before ACTIVE');
    assert.equal(polls[0].sent, realToken, 'first poll sends the join token');
    assert.equal(polls[1].sent, 'rotated-by-test', 'the next poll sends the newest token');
    const gap1 = polls[0].at - joinedAt;
    const gap2 = polls[1].at - polls[0].at;
    assert.ok(gap1 >= 900, `first poll after ~1 s (pollAfterSeconds 1), was ${gap1} ms`);
    assert.ok(gap2 >= 1900 && gap2 < 4000, `second poll after ~2 s (pollAfterSeconds 2), was ${gap2} ms`);
    await page.unroute('**/api/queue/token');
    await page.unroute('**/api/queue/status');

    // Seat map: 1000 seats of schedule 1 in price zones, most expensive first.
    await page.locator('#seatmap button.seat').nth(999).waitFor({ state: 'attached' });
    assert.equal(await page.locator('#seatmap button.seat').count(), 1000);
    const zones = await page.locator('#seatmap .zone-title').allInnerTexts();
    assert.equal(zones.length, 3, `three price zones, got ${zones}`);
    assert.match(zones[0], /VIP[\s\S]*₩150,000/);
    assert.match(await page.locator('#seatmap').getAttribute('aria-describedby'), /seats-help/);
    await shot(page, '03-seat-map');

    // Keyboard only: Tab lands on the zone's first seat, arrows move, Enter holds.
    const zone = page.locator('#seatmap .zone-2');
    // A random AVAILABLE seat that has another one after it (the last one has no next seat).
    const free = await zone.locator('button.seat.s-AVAILABLE').evaluateAll(
      (bs) => bs.map((b) => Number(b.dataset.id)),
    );
    assert.ok(free.length >= 2, `two AVAILABLE seats in zone 2, got ${free.length}`);
    const at = Math.floor(Math.random() * (free.length - 1));
    const [startId, nextId] = [free[at], free[at + 1]];
    await seatButton(page, startId).focus();
    const steps = await zone.locator('button.seat').evaluateAll(
      (bs, [a, b]) => bs.findIndex((x) => Number(x.dataset.id) === b) - bs.findIndex((x) => Number(x.dataset.id) === a),
      [startId, nextId],
    );
    for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => Number(document.activeElement.dataset.id)), nextId);
    assert.equal(await seatButton(page, nextId).getAttribute('tabindex'), '0', 'roving tabindex follows focus');
    const label = await seatButton(page, nextId).getAttribute('aria-label');
    assert.match(label, new RegExp(`Seat ${nextId}, S zone, ₩90,000, available`));
    await page.keyboard.press('Enter');

    // Checkout: price, balance 0 -> 402 with a human message, then add money and pay.
    await page.locator('#screen-checkout').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#co-seat').innerText(), `Seat ${nextId}`);
    const price = priceOf(await page.locator('#co-price').innerText());
    assert.equal(price, 90000);
    assert.match(await page.locator('#co-countdown').innerText(), /^0:0[0-9]$|^\d+:\d\d$/);
    assert.equal(await page.locator('#co-countdown').getAttribute('role'), 'timer');
    await page.locator('#co-balance').filter({ hasText: '₩' }).waitFor();
    await shot(page, '04-checkout');

    if (before < price) {
      await page.getByRole('button', { name: /^Pay/ }).click();
      await page.locator('#checkout-msg').filter({ hasText: 'Not enough money in your wallet' }).waitFor();
      assert.match(await page.locator('#checkout-msg').innerText(), /Nothing was charged/);
      // The shortfall is suggested as the amount.
      assert.equal(Number(await page.getByLabel('Amount in won').inputValue()), price - before);
    }
    await page.getByLabel('Amount in won').fill(String(price));
    await page.getByRole('button', { name: 'Add money' }).click();
    await page.locator('#checkout-msg').filter({ hasText: 'Added ₩90,000' }).waitFor();
    const charged = before + price;
    assert.equal(await balance(user, tok), charged);
    await page.getByRole('button', { name: /^Pay/ }).click();

    await page.locator('#screen-done').waitFor({ state: 'visible' });
    await page.locator('#done-when-row').waitFor({ state: 'visible' }); // from GET /api/reservations/{id}
    assert.equal(await page.locator('#done-status').innerText(), 'Confirmed');
    const rid = Number((await page.locator('#done-reservation').innerText()).replace('#', ''));
    assert.equal(priceOf(await page.locator('#done-balance').innerText()), charged - price);
    await shot(page, '05-confirmed');

    const r = await call(`/api/reservations/${rid}`, { token: tok });
    assert.equal(r.status, 200);
    assert.equal(r.data.status, 'CONFIRMED');
    assert.equal(r.data.seatId, nextId);
    assert.equal(await balance(user, tok), charged - price);
  });
});

test('a double-clicked pay button pays once (one Idempotency-Key, balance drops once)', T, async () => {
  await withBrowser('double-click', async (page) => {
    const user = freshUser();
    const tok = await token(user);
    const start = await chargeApi(user, tok, 200000);
    const confirms = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/api/reservations/confirm')) confirms.push(req.headers()['idempotency-key']);
    });
    const seat = await holdToCheckout(page, user, 1);
    const price = priceOf(await page.locator('#co-price').innerText());

    await page.getByRole('button', { name: /^Pay/ }).dblclick();
    await page.locator('#screen-done').waitFor({ state: 'visible' });
    const rid = Number((await page.locator('#done-reservation').innerText()).replace('#', ''));

    assert.equal(confirms.length, 1, `the second click hit a disabled button: one request, got ${confirms.length}`);
    // Even clicks that get past the disabled state (scripted, same tick) send nothing more.
    assert.equal(await page.evaluate(() => { const b = document.getElementById('pay'); b.disabled = false; b.click(); b.click(); return document.querySelector('#screen-done').hidden; }), false);
    await page.waitForTimeout(300);
    assert.equal(confirms.length, 1, 'no request after the payment went through');
    assert.equal(await balance(user, tok), start - price, 'the balance dropped exactly once');
    const r = await call(`/api/reservations/${rid}`, { token: tok });
    assert.equal(r.data.status, 'CONFIRMED');
    assert.equal(r.data.seatId, seat);
    // Nothing else of this user was paid: a second confirm would have had to fail or replay.
    assert.equal(priceOf(await page.locator('#done-balance').innerText()), start - price);
  });
});

test('a payment whose answer was lost is retried with the same key and charged once', T, async () => {
  await withBrowser('lost-answer', async (page) => {
    const user = freshUser();
    const tok = await token(user);
    const start = await chargeApi(user, tok, 200000);
    const keys = [];
    let first = true;
    await page.route('**/api/reservations/confirm', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (first) {
        first = false;
        await route.fetch(); // the server pays ...
        await route.abort('connectionreset'); // ... and the answer never reaches the page
      } else {
        await route.continue();
      }
    });
    await holdToCheckout(page, user, 2);
    const price = priceOf(await page.locator('#co-price').innerText());
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.locator('#checkout-msg').filter({ hasText: 'charged only once' }).waitFor();
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.locator('#screen-done').waitFor({ state: 'visible' });
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], 'the retry reuses the attempt\'s Idempotency-Key');
    assert.equal(await balance(user, tok), start - price);
  });
});

test('429 on pay gets a human message; the retry keeps the key and pays once', T, async () => {
  await withBrowser('pay-429', async (page) => {
    const user = freshUser();
    const tok = await token(user);
    const start = await chargeApi(user, tok, 200000);
    const keys = [];
    await page.route('**/api/reservations/confirm', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (keys.length === 1) {
        await route.fulfill({
          status: 429,
          headers: { 'Retry-After': '1', 'Content-Type': 'application/problem+json' },
          body: JSON.stringify({ type: '/problems/too-many-requests', title: 'Too Many Requests', status: 429, detail: 'rate limit exceeded' }),
        });
      } else {
        await route.continue();
      }
    });
    await holdToCheckout(page, user, 2);
    const price = priceOf(await page.locator('#co-price').innerText());
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.locator('#checkout-msg').filter({ hasText: 'Too many requests right now. Please wait 1 second' }).waitFor();
    assert.equal(await page.locator('#pay').isDisabled(), true, 'Pay waits for Retry-After');
    await shot(page, '11-pay-429');
    await page.getByRole('button', { name: /^Pay/ }).click(); // waits until enabled again
    await page.locator('#screen-done').waitFor({ state: 'visible' });
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);
    assert.equal(await balance(user, tok), start - price);
  });
});

test('a seat taken by another user after the map showed it AVAILABLE: clear message, map refreshed', T, async () => {
  await withBrowser('seat-taken', async (page) => {
    const user = freshUser();
    const other = freshUser();
    await signInToSeats(page, user);
    const seat = await availableSeat(page, 0);
    assert.match(await seatButton(page, seat).getAttribute('class'), /s-AVAILABLE/);

    const taken = await holdAs(other, 1, seat);
    assert.equal(taken.status, 201, `the other user holds seat ${seat}: ${JSON.stringify(taken.data)}`);

    await seatButton(page, seat).click();
    const msg = page.locator('#seats-msg');
    await msg.filter({ hasText: `seat ${seat} was just taken by someone else` }).waitFor();
    assert.equal(await msg.getAttribute('role'), 'alert');
    await page.waitForFunction((id) => {
      const b = document.querySelector(`#seatmap button.seat[data-id="${id}"]`);
      return b && !b.classList.contains('s-AVAILABLE') && b.getAttribute('aria-disabled') === 'true';
    }, seat);
    assert.match(await seatButton(page, seat).getAttribute('aria-label'), /held by someone/);
    assert.equal(await page.locator('#screen-seats').isVisible(), true, 'still on the seat map');
    await shot(page, '06-seat-taken');

    // Another seat still works.
    const seat2 = await availableSeat(page, 0);
    await seatButton(page, seat2).click();
    await page.locator('#screen-checkout').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#co-seat').innerText(), `Seat ${seat2}`);
  });
});

test('phone-sized screen: no horizontal scrolling on the seat map and at checkout', T, async () => {
  await withBrowser('phone', async (page) => {
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.goto(BASE + '/');
    assert.ok(await overflow() <= 0, 'sign-in fits');
    await signInToSeats(page, freshUser());
    assert.ok(await overflow() <= 0, `seat map fits (overflow ${await overflow()}px)`);
    const box = await page.locator('#seatmap button.seat').first().boundingBox();
    assert.ok(box.width >= 24 && box.height >= 24, `seat buttons are at least 24x24 px, got ${box.width}x${box.height}`);
    await shot(page, '07-seat-map-phone');
    await seatButton(page, await availableSeat(page, 1)).click();
    await page.locator('#screen-checkout').waitFor({ state: 'visible' });
    assert.ok(await overflow() <= 0, 'checkout fits');
    await shot(page, '08-checkout-phone', { fullPage: true });
  }, { viewport: { width: 360, height: 780 } });
});

test('a hold that runs out: the countdown reaches zero, the user is told and is back on the seat map', { ...T, skip: HOLD_TTL > 15 ? `hold TTL is ${HOLD_TTL}s (the test stack uses 3)` : false }, async () => {
  await withBrowser('hold-expires', async (page) => {
    const user = freshUser();
    const seat = await holdToCheckout(page, user, 2);
    await page.locator('#co-countdown').filter({ hasText: /^0:0[0-9]$/ }).waitFor();
    await page.locator('#screen-seats').waitFor({ state: 'visible', timeout: (HOLD_TTL + 5) * 1000 });
    await page.locator('#seats-msg').filter({ hasText: `Your hold on seat ${seat} expired` }).waitFor();
    assert.match(await page.locator('#seats-msg').innerText(), /nothing was charged/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'seats-title', 'focus moves to the seat map heading');
    await shot(page, '09-hold-expired');
  });
});

test('an expired hold answered 409 at pay: the user is told, nothing is charged, back to the seat map', { ...T, skip: HOLD_TTL > 15 ? `hold TTL is ${HOLD_TTL}s (the test stack uses 3)` : false }, async () => {
  await withBrowser('pay-409-expired', async (page) => {
    const user = freshUser();
    const tok = await token(user);
    const start = await chargeApi(user, tok, 200000);
    // The page is told the hold lasts a minute more than it does, so its own countdown does not
    // fire first and the server's 409 is what the user sees.
    await page.route('**/api/reservations/temporary-assign', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      if (res.status() === 201) body.expiresAt = new Date(Date.parse(body.expiresAt) + 60000).toISOString();
      await route.fulfill({ response: res, json: body });
    });
    const seat = await holdToCheckout(page, user, 2);
    const holdStart = Date.now();
    let rid = null;
    page.on('request', (req) => {
      if (req.url().endsWith('/api/reservations/confirm')) rid = JSON.parse(req.postData()).reservationId;
    });
    await page.waitForTimeout(Math.max(0, HOLD_TTL * 1000 + 1500 - (Date.now() - holdStart)));
    await page.getByRole('button', { name: /^Pay/ }).click();
    await page.locator('#screen-seats').waitFor({ state: 'visible' });
    await page.locator('#seats-msg').filter({ hasText: `Your hold on seat ${seat} expired before the payment went through` }).waitFor();
    assert.equal(await balance(user, tok), start, 'nothing was charged');
    const r = await call(`/api/reservations/${rid}`, { token: tok });
    assert.notEqual(r.data.status, 'CONFIRMED');
  });
});

test('demo sign-in unavailable (the route answers 404 where TICKETING_DEV_LOGIN is off)', T, async () => {
  await withBrowser('signin-unavailable', async (page) => {
    await page.route('**/api/dev/token', (route) => route.fulfill({
      status: 404,
      headers: { 'Content-Type': 'application/problem+json' },
      body: JSON.stringify({ type: '/problems/not-found', title: 'Not Found', status: 404, detail: 'no route' }),
    }));
    await page.goto(BASE + '/');
    await page.getByRole('button', { name: 'Sign in and join the queue' }).click();
    await page.locator('#signin-msg').filter({ hasText: 'Demo sign-in is unavailable on this server' }).waitFor();
    assert.equal(await page.locator('#screen-signin').isVisible(), true);
    await shot(page, '10-sign-in-unavailable');
  });
});

test('the real dev-token route: unknown demo user and bad input get messages, not a crash', T, async () => {
  await withBrowser('signin-errors', async (page) => {
    await page.goto(BASE + '/');
    await page.getByLabel('Demo user number').fill('0');
    await page.getByRole('button', { name: 'Sign in and join the queue' }).click();
    await page.locator('#signin-msg').filter({ hasText: 'from 1 to 1000' }).waitFor();
    assert.equal(await page.getByLabel('Demo user number').getAttribute('aria-invalid'), 'true');
    const r = await call('/api/dev/token', { body: { userId: 7 } });
    assert.equal(r.status, 201, 'the stack under test has demo sign-in on');
  });
});
