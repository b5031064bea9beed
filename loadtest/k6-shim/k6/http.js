// k6/http: synchronous requests as k6 scripts see them. The VU thread blocks while the shim's
// I/O thread runs the request on this VU's own keep-alive connection and times it.
// The VU's context: in one-thread mode this module instance belongs to one VU (?k6vu=N);
// in thread-per-VU mode the VU thread's global.
const vuCtx = globalThis.__k6shimVU ? globalThis.__k6shimVU(import.meta.url) : null;
const shim = () => vuCtx || globalThis.__k6shim;

let defaultCallback = null; // null: k6's default, 200-399 are expected

export function expectedStatuses(...specs) {
  const ranges = specs.map((s) => (typeof s === 'number' ? [s, s] : [s.min, s.max]));
  return { __expectedStatuses: ranges };
}

export function setResponseCallback(cb) { defaultCallback = cb; }

function Canonical(name) {
  return name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');
}

function Encode(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  // k6 sends a plain object as a form
  return Object.entries(body).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

class Response {
  constructor(raw, req) {
    this.status = raw.status;
    this.status_text = raw.statusText || '';
    this.body = raw.body;
    this.headers = {};
    for (const [k, v] of Object.entries(raw.headers || {})) this.headers[Canonical(k)] = Array.isArray(v) ? v.join(', ') : v;
    this.timings = raw.timings;
    this.error = raw.error || '';
    this.error_code = raw.errorCode || 0;
    this.url = req.url;
    this.proto = 'HTTP/1.1';
    this.request = { method: req.method, url: req.url, headers: req.headers, body: req.body };
  }
  json(selector) {
    let v = JSON.parse(this.body);
    if (selector) for (const part of String(selector).split('.')) v = v == null ? undefined : v[part];
    return v;
  }
  html() { throw new Error('Response.html() is not implemented by the shim'); }
}

export function request(method, url, body, params = {}) {
  const headers = { 'User-Agent': 'k6-shim/1.0 (https://k6.io/)', ...(params.headers || {}) };
  const encoded = Encode(body);
  if (body && typeof body === 'object' && !(body instanceof ArrayBuffer) && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const cb = params.responseCallback !== undefined ? params.responseCallback : defaultCallback;
  const req = { method: method.toUpperCase(), url: String(url), headers, body: encoded,
    timeoutMs: shim().duration(params.timeout || '60s'), tags: params.tags || {},
    expected: cb ? cb.__expectedStatuses : [[200, 399]] };
  const raw = shim().request(req);
  // One-thread mode: a promise the rewritten script awaits (see lib/transform.mjs).
  return typeof raw.then === 'function' ? raw.then((r) => new Response(r, req)) : new Response(raw, req);
}

export const get = (url, params) => request('GET', url, null, params);
export const head = (url, params) => request('HEAD', url, null, params);
export const post = (url, body, params) => request('POST', url, body, params);
export const put = (url, body, params) => request('PUT', url, body, params);
export const patch = (url, body, params) => request('PATCH', url, body, params);
export const del = (url, body, params) => request('DELETE', url, body, params);
export const options = (url, body, params) => request('OPTIONS', url, body, params);

// Sequential, not parallel: enough for the scripts of this repository, which do not batch.
export function batch(requests) {
  const one = (r) => (Array.isArray(r) ? request(r[0], r[1], r[2], r[3]) : typeof r === 'string' ? get(r) : request(r.method || 'GET', r.url, r.body, r.params));
  const entries = Array.isArray(requests) ? requests.map((r, i) => [i, r]) : Object.entries(requests);
  const out = Array.isArray(requests) ? [] : {};
  if (!vuCtx) { for (const [k, r] of entries) out[k] = one(r); return out; }
  return (async () => { for (const [k, r] of entries) out[k] = await one(r); return out; })();
}

export default { request, get, head, post, put, patch, del, options, batch, expectedStatuses, setResponseCallback };
