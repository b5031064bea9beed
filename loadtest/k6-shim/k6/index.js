// k6: check, group, sleep, fail - the VU-side half lives in the shim's vu-worker.
// The VU's context: in one-thread mode this module instance belongs to one VU (?k6vu=N);
// in thread-per-VU mode the VU thread's global.
const vuCtx = globalThis.__k6shimVU ? globalThis.__k6shimVU(import.meta.url) : null;
const shim = () => vuCtx || globalThis.__k6shim;

export function check(value, sets, tags) {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    let ok;
    try { ok = typeof fn === 'function' ? !!fn(value) : !!fn; } catch (e) { ok = false; }
    shim().check(name, ok, tags);
    all = all && ok;
  }
  return all;
}

export function group(name, fn) {
  return shim().group(name, fn);
}

export function sleep(seconds) {
  return shim().sleep(seconds); // a promise in one-thread mode
}

export function fail(message) {
  throw new Error(message);
}

export default { check, group, sleep, fail };
