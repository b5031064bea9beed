// The end-of-test summary object k6 hands to handleSummary(data), and k6's plain-text summary.
import { EvalThreshold } from './metrics.mjs';

export function BuildSummary(reg, thresholds, options, runMs, setupData) {
  const stats = options.summaryTrendStats || ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
  const metrics = {};
  const durationSec = runMs / 1000;
  const put = (key, type, contains, sink) => {
    metrics[key] = { type, contains, values: sink.values(durationSec, type === 'trend' ? stats : []) };
  };
  for (const [name, m] of reg.metrics) {
    put(name, m.type, m.contains, m.sink);
    for (const s of m.subs) put(s.key, m.type, m.contains, s.sink);
  }
  for (const th of thresholds) {
    const m = metrics[th.key] || (metrics[th.key] = { type: 'counter', contains: 'default', values: { count: 0, rate: 0 } });
    (m.thresholds ||= {})[th.expr] = { ok: th.result ? th.result.ok : EvalThreshold(reg, th, durationSec).ok };
  }
  // Groups and their checks as a tree, like k6's root_group.
  const root = { name: '', path: '', id: 'root', groups: [], checks: [] };
  const groupOf = (pathStr) => {
    let g = root;
    if (!pathStr) return g;
    for (const part of pathStr.split('::').slice(1)) {
      let c = g.groups.find((x) => x.name === part);
      if (!c) { c = { name: part, path: `${g.path}::${part}`, id: `${g.path}::${part}`, groups: [], checks: [] }; g.groups.push(c); }
      g = c;
    }
    return g;
  };
  for (const c of reg.checks.values()) groupOf(c.group).checks.push({ name: c.name, path: c.path, id: c.path, passes: c.passes, fails: c.fails });
  return { root_group: root, options: { summaryTrendStats: stats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: runMs }, metrics, setup_data: setupData };
}

const Fmt = (m, v) => {
  if (m.contains === 'time') return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(2)}ms`;
  if (m.contains === 'data') return v > 1e6 ? `${(v / 1e6).toFixed(1)} MB` : `${(v / 1e3).toFixed(1)} kB`;
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
};

export function TextSummary(data) {
  const lines = [];
  const walk = (g, indent) => {
    for (const c of g.checks) lines.push(`${indent}${c.fails ? '✗' : '✓'} ${c.name}${c.fails ? ` (${c.passes}/${c.passes + c.fails})` : ''}`);
    for (const sub of g.groups) { lines.push(`${indent}█ ${sub.name}`); walk(sub, `${indent}  `); }
  };
  walk(data.root_group, '     ');
  lines.push('');
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    const mark = m.thresholds ? (Object.values(m.thresholds).every((t) => t.ok) ? '✓ ' : '✗ ') : '  ';
    let v;
    if (m.type === 'trend') v = Object.entries(m.values).map(([k, x]) => `${k}=${Fmt(m, x)}`).join(' ');
    else if (m.type === 'counter') v = `${Fmt(m, m.values.count)}  ${m.values.rate.toFixed(2)}/s`;
    else if (m.type === 'rate') v = `${(m.values.rate * 100).toFixed(2)}%  ${m.values.passes} out of ${m.values.passes + m.values.fails}`;
    else v = `${Fmt(m, m.values.value)} min=${Fmt(m, m.values.min)} max=${Fmt(m, m.values.max)}`;
    lines.push(`   ${mark}${name.padEnd(48, '.')}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
