// The ticketing API as the scripts call it: one function per endpoint, each request tagged with
// its API name (per-API latency in thresholds and reports) and with the statuses that are
// business answers marked expected: 409 (seat taken, hold expired), 402, 429 are not errors.
import http from 'k6/http';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');

const ok = http.expectedStatuses({ min: 200, max: 299 });
const business = http.expectedStatuses({ min: 200, max: 299 }, 402, 409, 429);

function params(api, token, extra = {}, cb = business) {
  const headers = { 'Content-Type': 'application/json', ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  return { headers, tags: { api, name: api }, responseCallback: cb, timeout: '30s' };
}

export function queueToken(token, concertId) {
  return http.post(`${BASE_URL}/api/queue/token`, JSON.stringify({ concertId }),
    params('queue_token', token, {}, http.expectedStatuses({ min: 200, max: 299 }, 404, 429)));
}
export function queueStatus(token, queueTok) {
  return http.get(`${BASE_URL}/api/queue/status`, params('queue_status', token, { 'X-Queue-Token': queueTok }));
}
export function concert(concertId) {
  return http.get(`${BASE_URL}/api/concerts/${concertId}`, params('concert', null, {}, ok));
}
export function seats(concertId, scheduleId) {
  return http.get(`${BASE_URL}/api/concerts/${concertId}/schedules/${scheduleId}/seats`, params('seats', null, {}, ok));
}
export function temporaryAssign(token, queueTok, scheduleId, seatId) {
  const h = queueTok ? { 'X-Queue-Token': queueTok } : {};
  return http.post(`${BASE_URL}/api/reservations/temporary-assign`, JSON.stringify({ scheduleId, seatId }), params('temporary_assign', token, h));
}
export function balance(token, userId) {
  return http.get(`${BASE_URL}/api/wallet/${userId}/balance`, params('balance', token, {}, ok));
}
export function charge(token, userId, amount, key) {
  return http.post(`${BASE_URL}/api/wallet/${userId}/charge`, JSON.stringify({ amount }), params('charge', token, { 'Idempotency-Key': key }, ok));
}
export function confirm(token, reservationId, key) {
  return http.post(`${BASE_URL}/api/reservations/confirm`, JSON.stringify({ reservationId }), params('confirm', token, { 'Idempotency-Key': key }));
}

export function jsonOf(res) {
  try { return res.json(); } catch (e) { return null; }
}
