// Rewrites a staged copy of a k6 script folder so many VUs can share one JavaScript thread:
//   node transform.mjs DIR     (the parser is Debian's node-acorn, installed by scripts/bootstrap)
// k6 code is synchronous; here the calls that block (k6/http requests, sleep, group, and any
// call of a function that reaches one) become `await`s inside `async` functions - only those,
// so callbacks handed to Array.prototype.filter and the like stay synchronous. `__VU`, `__ITER`
// and `__ENV` become the VU's own values, and every module instance belongs to one VU (the
// loader hook in esm-hooks.mjs gives each VU its own copy of the module graph), so module-level
// state stays per VU as in k6. The meaning of the script does not change.
// Prints {"ok":true,"files":N} or {"ok":false,"unsupported":[...]} (the shim then falls back to
// one thread per VU); rewrites the files only when ok.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kDebianModules = '/usr/share/nodejs';
const acorn = require(`${kDebianModules}/acorn`);
const walk = require(`${kDebianModules}/acorn-walk`);

const dir = path.resolve(process.argv[2]);
const kBlockingImports = {
  k6: new Set(['sleep', 'group']),
  'k6/http': new Set(['request', 'get', 'head', 'post', 'put', 'patch', 'del', 'options', 'batch']),
};
const kHttpNonBlocking = new Set(['expectedStatuses', 'setResponseCallback']);
const kGlobals = new Set(['String', 'Number', 'Boolean', 'Object', 'Array', 'JSON', 'Math', 'Date', 'parseInt',
  'parseFloat', 'isNaN', 'isFinite', 'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI',
  'Error', 'TypeError', 'RangeError', 'Symbol', 'BigInt', 'RegExp', 'Map', 'Set', 'Promise', 'Uint8Array',
  'ArrayBuffer', 'console', 'require', 'open']);
const kVuGlobals = { __VU: '__k6vu.id', __ITER: '__k6vu.iter', __ENV: '__k6vu.env' };

function Files(d) {
  const out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...Files(p));
    else if (/\.(m?js)$/.test(e.name)) out.push(p);
  }
  return out;
}

const mods = new Map(); // file -> {src, ast, imports, fns, exports, reexports}
const unsupported = [];
for (const file of Files(dir)) {
  const src = fs.readFileSync(file, 'utf8');
  let ast;
  try { ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true }); } catch (e) {
    unsupported.push(`${path.relative(dir, file)}: does not parse as a module (${e.message})`); continue;
  }
  mods.set(file, { file, src, ast, imports: new Map(), named: new Map(), exports: new Map(), reexports: [] });
}

const Rel = (from, spec) => (spec.startsWith('.') ? path.resolve(path.dirname(from), spec) : null);
const IsFn = (n) => n && (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression');

// ---- per module: imports, named functions (by name, any scope), exports ---------------------
for (const m of mods.values()) {
  for (const st of m.ast.body) {
    if (st.type === 'ImportDeclaration') {
      const from = st.source.value;
      for (const s of st.specifiers) {
        const kind = s.type === 'ImportDefaultSpecifier' ? 'default' : s.type === 'ImportNamespaceSpecifier' ? '*' : s.imported.name;
        m.imports.set(s.local.name, { from, file: Rel(m.file, from), kind });
      }
    } else if (st.type === 'ExportNamedDeclaration') {
      if (st.source) { for (const s of st.specifiers) m.reexports.push({ exported: s.exported.name, local: s.local.name, file: Rel(m.file, st.source.value) }); }
      else if (st.declaration?.type === 'FunctionDeclaration') m.exports.set(st.declaration.id.name, st.declaration.id.name);
      else if (st.declaration?.type === 'VariableDeclaration') { for (const d of st.declaration.declarations) if (d.id.type === 'Identifier') m.exports.set(d.id.name, d.id.name); }
      else for (const s of st.specifiers) m.exports.set(s.exported.name, s.local.name);
    } else if (st.type === 'ExportDefaultDeclaration') {
      if (IsFn(st.declaration)) { m.exports.set('default', st.declaration.id ? st.declaration.id.name : '*default'); if (!st.declaration.id) m.named.set('*default', [st.declaration]); }
      else if (st.declaration.type === 'Identifier') m.exports.set('default', st.declaration.name);
    } else if (st.type === 'ExportAllDeclaration') {
      m.reexports.push({ all: true, file: Rel(m.file, st.source.value) });
    }
  }
  const Add = (name, fn) => { if (!m.named.has(name)) m.named.set(name, []); m.named.get(name).push(fn); };
  walk.full(m.ast, (n) => {
    if (n.type === 'FunctionDeclaration' && n.id) Add(n.id.name, n);
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier' && IsFn(n.init)) Add(n.id.name, n.init);
  });
}

function ExportTarget(file, name, seen = new Set()) { // -> [module, local name] or null
  const m = mods.get(file);
  if (!m || seen.has(`${file}:${name}`)) return null;
  seen.add(`${file}:${name}`);
  if (m.exports.has(name)) return [m, m.exports.get(name)];
  for (const r of m.reexports) {
    if (r.all) { const t = ExportTarget(r.file, name, seen); if (t) return t; }
    else if (r.exported === name) return ExportTarget(r.file, r.local, seen);
  }
  return null;
}

// Local name -> functions it may denote (in its module or the one it comes from), or a tag.
function Denotes(m, name) {
  if (m.named.has(name)) return { fns: m.named.get(name) };
  const imp = m.imports.get(name);
  if (imp) {
    if (kBlockingImports[imp.from]) return kBlockingImports[imp.from].has(imp.kind) ? 'blocking' : 'sync';
    if (imp.from.startsWith('k6')) return 'sync';
    if (!imp.file) return 'sync'; // a remote module (jslib): plain helpers
    if (imp.kind === '*') return 'namespace';
    const t = ExportTarget(imp.file, imp.kind);
    if (!t) return 'unknown';
    return Denotes(t[0], t[1]);
  }
  if (kGlobals.has(name) || name in globalThis) return 'sync';
  return 'unknown'; // a parameter or variable holding a function: it may block
}

// Every call with the function lexically around it: [{call, fn (null at top level), m}]
const calls = [];
const fnOf = new Map(); // fn node -> module
for (const m of mods.values()) {
  walk.ancestor(m.ast, {
    CallExpression(n, _st, anc) {
      let fn = null;
      for (let i = anc.length - 2; i >= 0; i--) if (IsFn(anc[i])) { fn = anc[i]; break; }
      calls.push({ call: n, fn, m });
    },
    NewExpression(n, _st, anc) { calls.push({ call: n, fn: null, m, isNew: true, anc: [...anc] }); },
  });
  walk.full(m.ast, (n) => { if (IsFn(n)) fnOf.set(n, m); });
}

function CalleeKind(m, callee) {
  if (callee.type === 'Identifier') return Denotes(m, callee.name);
  if (callee.type === 'MemberExpression' && !callee.computed && callee.object.type === 'Identifier') {
    const imp = m.imports.get(callee.object.name);
    if (imp && imp.from === 'k6/http' && (imp.kind === 'default' || imp.kind === '*')) return kHttpNonBlocking.has(callee.property.name) ? 'sync' : 'blocking';
    if (imp && (imp.from === 'k6') && (imp.kind === 'default' || imp.kind === '*')) return kBlockingImports.k6.has(callee.property.name) ? 'blocking' : 'sync';
    if (imp && imp.kind === '*' && imp.file) { const t = ExportTarget(imp.file, callee.property.name); return t ? Denotes(t[0], t[1]) : 'unknown'; }
  }
  return 'sync'; // a method of some object: Array/String/JSON builtins, Metric.add, res.json()
}

// Fixed point: a function is async when one of its direct calls may block.
const asyncFns = new Set();
const awaited = new Set();
for (let changed = true; changed;) {
  changed = false;
  for (const c of calls) {
    if (c.isNew || awaited.has(c.call)) continue;
    const k = CalleeKind(c.m, c.call.callee);
    const blocks = k === 'blocking' || k === 'unknown' || (k && k.fns && k.fns.some((f) => asyncFns.has(f)));
    if (!blocks) continue;
    awaited.add(c.call); changed = true;
    if (c.fn && !asyncFns.has(c.fn)) asyncFns.add(c.fn);
  }
}

// Where an async function ends up must be a place that awaits it: a call we await, a
// variable/declaration (called by name), an export, or an argument of a user function (whose
// call of its parameter we await). Anywhere else (array callbacks, object methods, classes,
// generators, getters) the shim cannot keep k6's meaning: fall back to a thread per VU.
for (const m of mods.values()) {
  walk.ancestor(m.ast, {
    Function(n, _st, anc) {
      if (!asyncFns.has(n)) return;
      const parent = anc[anc.length - 2];
      const where = `${path.relative(dir, m.file)}:${m.src.slice(0, n.start).split('\n').length}`;
      if (n.generator || n.async) { unsupported.push(`${where}: generator/async function that blocks`); return; }
      if (n.type === 'FunctionDeclaration' || parent.type === 'VariableDeclarator' || parent.type === 'ExportDefaultDeclaration') return;
      if ((parent.type === 'CallExpression' || parent.type === 'NewExpression') && parent.arguments.includes(n) && awaited.has(parent)) return;
      unsupported.push(`${where}: a function that makes requests or sleeps is used as a ${parent.type === 'CallExpression' ? 'callback of a builtin' : parent.type}`);
    },
  });
}
for (const c of calls) {
  if (c.isNew) {
    const k = CalleeKind(c.m, c.call.callee);
    if (k && k.fns && k.fns.some((f) => asyncFns.has(f))) unsupported.push(`${path.relative(dir, c.m.file)}: a constructor that blocks`);
  }
}
// Functions whose name is used as a value (not called) and are async: only fine as an argument
// of an awaited user call or in an export list.
for (const m of mods.values()) {
  walk.ancestor(m.ast, {
    Identifier(n, _st, anc) {
      const d = m.named.get(n.name);
      if (!d || !d.some((f) => asyncFns.has(f))) return;
      const p = anc[anc.length - 2];
      if (!p) return;
      if (p.type === 'CallExpression' && p.callee === n) return;
      if (p.type === 'CallExpression' && awaited.has(p)) return;
      if (IsFn(p) && p.id === n) return;
      if (p.type === 'VariableDeclarator' && p.id === n) return;
      if (p.type === 'ExportSpecifier' || p.type === 'ExportDefaultDeclaration') return;
      if (p.type === 'MemberExpression' && p.property === n && !p.computed) return;
      if (p.type === 'Property' && p.key === n && !p.shorthand) return;
      unsupported.push(`${path.relative(dir, m.file)}:${m.src.slice(0, n.start).split('\n').length}: ${n.name} (blocks) used as a value`);
    },
  });
}

if (unsupported.length) {
  process.stdout.write(JSON.stringify({ ok: false, unsupported: [...new Set(unsupported)] }));
  process.exit(0);
}

// ---- rewrite ------------------------------------------------------------------------------
for (const m of mods.values()) {
  const ins = []; // [pos, text, rank]: at one position the outer call opens first, closes last
  for (const f of asyncFns) if (fnOf.get(f) === m) ins.push([f.start, 'async ', -1e12]);
  for (const c of calls) {
    if (c.m !== m || !awaited.has(c.call)) continue;
    ins.push([c.call.start, '(await ', -c.call.end]);
    ins.push([c.call.end, ')', -c.call.start]);
  }
  const declared = new Set();
  walk.full(m.ast, (n) => {
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier') declared.add(n.id.name);
    if (IsFn(n)) for (const p of n.params) if (p.type === 'Identifier') declared.add(p.name);
  });
  walk.ancestor(m.ast, {
    Identifier(n, _st, anc) {
      const repl = kVuGlobals[n.name];
      if (!repl || declared.has(n.name) || m.imports.has(n.name)) return;
      const p = anc[anc.length - 2];
      if (p && p.type === 'MemberExpression' && p.property === n && !p.computed) return;
      if (p && p.type === 'Property' && p.key === n && !p.computed) {
        if (p.shorthand) ins.push([n.start, `${n.name}: `, -1]);
        else return;
      }
      ins.push([n.start, `\0${n.end}\0${repl}`, 1e12]);
    },
  });
  ins.sort((a, b) => b[0] - a[0] || b[2] - a[2]);
  let out = m.src;
  for (const [pos, text] of ins) {
    if (text.startsWith('\0')) { const [, end, repl] = text.split('\0'); out = out.slice(0, pos) + repl + out.slice(Number(end)); }
    else out = out.slice(0, pos) + text + out.slice(pos);
  }
  // Imports are hoisted, so the VU's context is bound before any statement of the module runs.
  const shebang = out.startsWith('#!') ? out.slice(0, out.indexOf('\n') + 1) : '';
  out = `${shebang}const __k6vu = globalThis.__k6shimVU(import.meta.url);${out.slice(shebang.length)}`;
  fs.writeFileSync(m.file, out);
}
process.stdout.write(JSON.stringify({ ok: true, files: mods.size, asyncFunctions: asyncFns.size, awaitedCalls: awaited.size }));
