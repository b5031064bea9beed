// Thin fetch wrapper for the ticketing API. Every non-2xx answer becomes an ApiError carrying
// the problem+json body (or a made-up one when the body is not JSON), the HTTP status and
// Retry-After in seconds. A network failure is an ApiError with status 0.

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }
}

/** Server clock minus client clock in ms, from the Date header (1 s resolution, so only
 *  offsets beyond 2 s are taken as real skew). */
export let clockSkewMs = 0;

function noteServerDate(headers) {
  const d = Date.parse(headers.get('Date') || '');
  if (Number.isNaN(d)) return;
  const skew = d - Date.now();
  clockSkewMs = Math.abs(skew) > 2000 ? skew : 0;
}

export function serverNow() {
  return Date.now() + clockSkewMs;
}

function retryAfterSeconds(headers) {
  const v = headers.get('Retry-After');
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

/**
 * @param {string} path  e.g. '/api/concerts/1'
 * @param {{method?: string, token?: string, queueToken?: string, idempotencyKey?: string,
 *          body?: unknown, signal?: AbortSignal}} opts
 * @returns {Promise<{status: number, data: any}>}
 */
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.queueToken) headers['X-Queue-Token'] = opts.queueToken;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, {
      method: opts.method || (body ? 'POST' : 'GET'),
      headers, body, cache: 'no-store', signal: opts.signal,
    });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached.' });
  }
  noteServerDate(res.headers);
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const problem = data && typeof data === 'object' ? data : { title: res.statusText, status: res.status };
    throw new ApiError(res.status, problem, retryAfterSeconds(res.headers));
  }
  return { status: res.status, data };
}

/** A fresh Idempotency-Key (the API accepts [A-Za-z0-9._:-]{1,128}). */
export function newIdempotencyKey(prefix) {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
