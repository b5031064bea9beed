// The HTTP side of a VU's request, shared by the I/O thread (thread-per-VU mode) and the
// one-thread mode: per-VU keep-alive agents (one connection per VU, as k6), k6's http_req_*
// timing breakdown measured on the wire (socket -> request written -> first byte -> last
// byte), one retry on a kept-alive connection the server had closed.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
const agents = new Map();

function AgentFor(vuId, secure) {
  const key = secure ? -vuId - 1 : vuId;
  let a = agents.get(key);
  if (!a) {
    const opts = { keepAlive: true, maxSockets: 1, scheduling: 'lifo' };
    a = secure ? new https.Agent(opts) : new http.Agent(opts);
    agents.set(key, a);
  }
  return a;
}
export function DropAgent(vuId) {
  for (const k of [vuId, -vuId - 1]) { const a = agents.get(k); if (a) { a.destroy(); agents.delete(k); } }
}

const kErrorCodes = { ECONNREFUSED: 1212, ECONNRESET: 1220, ETIMEDOUT: 1050, EPIPE: 1220, ENOTFOUND: 1101 };

export function Expected(status, ranges) {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

// Parsed URLs by text: the scripts' URLs repeat (ids vary, but few per VU).
const urlCache = new Map();
function ParseUrl(s) {
  let u = urlCache.get(s);
  if (!u) {
    const x = new URL(s);
    u = { secure: x.protocol === 'https:', hostname: x.hostname, port: x.port, path: x.pathname + x.search };
    if (urlCache.size > 5000) urlCache.clear();
    urlCache.set(s, u);
  }
  return u;
}

export function Run(vuId, req, done, retried = false) {
  const url = ParseUrl(req.url);
  const body = req.body === undefined || req.body === null ? undefined : Buffer.from(req.body);
  const headers = { ...req.headers };
  if (body) headers['Content-Length'] = body.length;
  const t = { start: now(), sock: 0, connected: 0, sent: 0, first: 0, end: 0 };
  let newSocket = false, finished = false, bytesIn = 0;
  const r = (url.secure ? https : http).request({
    agent: AgentFor(vuId, url.secure), method: req.method, hostname: url.hostname, port: url.port,
    path: url.path, headers,
  });
  const timer = setTimeout(() => r.destroy(Object.assign(new Error('request timeout'), { code: 'ETIMEDOUT' })), req.timeoutMs);
  r.on('socket', (s) => {
    t.sock = now();
    if (s.connecting) { newSocket = true; s.once('connect', () => { t.connected = now(); }); } else t.connected = t.sock;
  });
  r.on('finish', () => { t.sent = now(); });
  r.on('response', (res) => {
    t.first = now();
    const chunks = [];
    res.on('data', (c) => { chunks.push(c); bytesIn += c.length; });
    res.on('end', () => {
      t.end = now(); clearTimeout(timer); finished = true;
      done({ status: res.statusCode, statusText: res.statusMessage, headers: res.headers,
        body: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
        bytesIn: bytesIn + 200, bytesOut: (body?.length || 0) + 200, t, newSocket });
    });
    res.on('error', (e) => Fail(e));
  });
  const Fail = (e) => {
    if (finished) return;
    finished = true; clearTimeout(timer);
    // A kept-alive connection the server closed while idle: retry once on a fresh one (Go's
    // transport, which k6 uses, does the same for requests not yet answered).
    if (!retried && r.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return Run(vuId, req, done, true);
    t.end = now();
    done({ status: 0, error: `${e.code || 'error'}: ${e.message}`, errorCode: kErrorCodes[e.code] || 1000, headers: {}, body: '', bytesIn, bytesOut: 0, t, newSocket });
  };
  r.on('error', Fail);
  r.end(body);
}

export function Timings(t, newSocket) {
  const connected = t.connected || t.sock || t.start;
  const sent = t.sent || connected;
  const first = t.first || t.end;
  const connecting = newSocket ? Math.max(0, connected - t.sock) : 0;
  const blocked = Math.max(0, (t.sock || t.start) - t.start);
  const sending = Math.max(0, sent - connected);
  const waiting = Math.max(0, first - sent);
  const receiving = Math.max(0, t.end - first);
  return { blocked, connecting, tls_handshaking: 0, sending, waiting, receiving, duration: sending + waiting + receiving };
}

// One finished request -> [end time, tags, timings, failed, bytesIn, bytesOut] (the record the
// main thread's IngestHttp takes) and the response the script sees.
export function Finish(req, raw) {
  const timings = Timings(raw.t, raw.newSocket);
  const failed = raw.status === 0 || !Expected(raw.status, req.expected);
  const tags = { ...req.tags, method: req.method, status: String(raw.status), expected_response: failed ? 'false' : 'true' };
  if (!tags.name) tags.name = req.url;
  return [[raw.t.end, tags, timings, failed ? 1 : 0, raw.bytesIn, raw.bytesOut],
    { status: raw.status, statusText: raw.statusText, headers: raw.headers, body: raw.body, error: raw.error, errorCode: raw.errorCode, timings }];
}
