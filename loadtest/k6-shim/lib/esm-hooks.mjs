// Module loader hook of the k6 shim (one-thread mode): every VU imports the script as
// `script.js?k6vu=N`; this hook carries `?k6vu=N` on to the modules that one imports (the
// script's own folder and the shim's k6/* modules), so each VU gets its own instance of every
// module - its own module-level state, as in k6 where each VU is a separate runtime.
let roots = [];
export async function initialize(data) { roots = data.roots; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = context.parentURL && /[?&]k6vu=(\d+)/.exec(context.parentURL);
  if (!m || !r.url.startsWith('file:') || /[?&]k6vu=/.test(r.url) || !roots.some((x) => r.url.startsWith(x))) return r;
  return { ...r, url: `${r.url}${r.url.includes('?') ? '&' : '?'}k6vu=${m[1]}` };
}
