#!/usr/bin/env python3
"""Writes docs/loadtest-report.md and docs/img/loadtest/*.png from a loadtest/run-plan result
folder (one sub-folder per phase: spec.json, summary.json, timeseries.json, resources.jsonl,
db-check.json, metrics-before/after.txt). Nothing in the report is typed by hand.
  loadtest/report.py RESULTS_DIR [--doc docs/loadtest-report.md] [--img docs/img/loadtest]"""
import argparse, json, math, os, re, sys, time
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLA = {'p95': 500.0, 'p99': 1000.0, 'err': 0.01, 'tps': 500.0}
ORDER = ['stage1', 'stage2', 'stage3', 'stage4', 'stress', 'spike']
GROWTH, UNIT = math.log(1.01), 0.001


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except OSError:
        return []


def pct(buckets, p):
    """Percentile of merged log buckets ([[bucket, count], ...]) as the shim records them."""
    total = sum(n for _, n in buckets)
    if not total:
        return 0.0
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for b, n in sorted(buckets):
        seen += n
        if seen >= rank:
            return 0.0 if b == 0 else UNIT * math.exp((b - 0.5) * GROWTH)
    return 0.0


def metric(summary, name, field):
    return (summary.get('metrics', {}).get(name) or {}).get('values', {}).get(field, 0)


def prom(text, name):
    total = 0.0
    for line in (text or '').splitlines():
        if line.startswith(name) and not line.startswith('#') and (len(line) == len(name) or line[len(name)] in ' {'):
            try:
                total += float(line.rsplit(' ', 1)[1])
            except ValueError:
                pass
    return total


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


def phase(d):
    spec = load(os.path.join(d, 'spec.json'))
    if not spec:
        return None
    s = load(os.path.join(d, 'summary.json'), {})
    ts = load(os.path.join(d, 'timeseries.json'), {})
    res = jsonl(os.path.join(d, 'resources.jsonl'))
    db = load(os.path.join(d, 'db-check.json'), {})
    secs = s.get('state', {}).get('testRunDurationMs', 0) / 1000 or 1
    lat = s.get('metrics', {}).get('http_req_duration{expected_response:true}', {}).get('values') or \
        s.get('metrics', {}).get('http_req_duration', {}).get('values', {})
    series = [p for p in ts.get('series', []) if p['reqs'] or p.get('vusBusy')]
    comps = sorted({c for r in res for c in r['cpu']})
    cpu = {c: [r['cpu'].get(c, 0) for r in res] for c in comps}
    rss = {c: max([r['rss_mb'].get(c, 0) for r in res] or [0]) for c in comps}
    busy = [r for r, p in zip(res, [1] * len(res))]
    before, after = read_text(os.path.join(d, 'metrics-before.txt')), read_text(os.path.join(d, 'metrics-after.txt'))
    delta = {n: prom(after, n) - prom(before, n) for n in
             ('ticketing_tx_retries_total', 'ticketing_db_errors_total', 'ticketing_redis_errors_total', 'ticketing_worker_restarts_total')}
    throttled = [r.get('app_throttled_periods', 0) for r in res]
    periods = [r.get('app_periods', 0) for r in res]
    return {
        'name': spec['name'], 'dir': d, 'spec': spec, 'summary': s, 'series': series, 'res': res,
        'secs': secs, 'tps': metric(s, 'http_reqs', 'count') / secs,
        'flows': metric(s, 'flows_completed', 'count') / secs,
        'p50': lat.get('med', 0), 'p95': lat.get('p(95)', 0), 'p99': lat.get('p(99)', 0),
        'err': metric(s, 'http_req_failed', 'rate'), 'dropped': metric(s, 'dropped_iterations', 'count'),
        'conflicts': metric(s, 'business_conflicts', 'count'),
        'consistency_k6': (s.get('consistency') or {}).get('ok'), 'consistency_sql': db.get('ok'),
        'db': db, 'cpu': cpu, 'rss': rss, 'delta': delta,
        'cpu_avg': {c: sum(v) / len(v) for c, v in cpu.items() if v},
        'cpu_p90': {c: sorted(v)[int(0.9 * (len(v) - 1))] for c, v in cpu.items() if v},
        'throttled_pct': 100.0 * (throttled[-1] - throttled[0]) / max(1, periods[-1] - periods[0]) if len(res) > 1 else 0,
        'app_mem_max': max([r.get('app_mem_mb', 0) or 0 for r in res] or [0]),
        'exit': read_text(os.path.join(d, 'exit-code')).strip(),
        'aborted': (s.get('shim') or {}).get('aborted'), 'ts': ts,
        'loadgen_cpu': metric(s, 'shim_loadgen_cpu_percent', 'p(95)'),
    }


def chart(p, img):
    ser = p['series']
    if not ser:
        return None
    t0 = ser[0]['t']
    x = [q['t'] - t0 for q in ser]
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    for k, lab in (('p50', 'P50'), ('p95', 'P95'), ('p99', 'P99')):
        a1.plot(x, [q[k] for q in ser], label=lab)
    a1.axhline(SLA['p95'], color='r', ls='--', lw=0.8, label='SLA P95')
    a1.set_yscale('log'); a1.set_ylabel('latency (ms)'); a1.legend(loc='upper left', fontsize=8)
    a2.plot(x, [q['reqs'] for q in ser], label='requests/s')
    a2.plot(x, [q['failed'] for q in ser], label='failed/s', color='r')
    a2.plot(x, [q['counters'].get('flows_completed', 0) for q in ser], label='flows completed/s')
    tgt = [sum(q['target'].values()) for q in ser]
    a2.plot(x, tgt, label='offered flows/s', ls='--', color='k', lw=0.8)
    a2.set_ylabel('per second'); a2.legend(loc='upper left', fontsize=8)
    res = p['res']
    if res:
        for c in sorted(p['cpu']):  # the same clock as the latency series (epoch seconds)
            a3.plot([r['t'] - t0 for r in res], p['cpu'][c], label=c)
        a3.set_ylabel('CPU % of one core'); a3.legend(loc='upper left', fontsize=7, ncol=4)
    a3.set_xlabel('seconds')
    fig.suptitle(f"{p['name']}: {p['spec']['cpus']} CPU / {p['spec']['memory_mb']} MB application tier")
    fig.tight_layout()
    path = os.path.join(img, f"{p['name']}.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def windows(p, width=10):
    """Windows (10 s unless told) of a run: offered and completed flows/s, P95, error rate."""
    out, ser = [], p['series']
    for i in range(0, len(ser) - width + 1, width):
        w = ser[i:i + width]
        b = {}
        for q in w:
            for k, n in q['h']:
                b[k] = b.get(k, 0) + n
        reqs = sum(q['reqs'] for q in w)
        out.append({'from': i, 'width': width, 'offered': sum(sum(q['target'].values()) for q in w) / width,
                    'flows': sum(q['counters'].get('flows_completed', 0) for q in w) / width,
                    'tps': reqs / width, 'p95': pct(list(b.items()), 95), 'p99': pct(list(b.items()), 99),
                    'err': sum(q['failed'] for q in w) / max(1, reqs), 'dropped': sum(q['dropped'] for q in w)})
    return out


def knee(p):
    # Windows as long as a stress step (30 s x the quick factor), at most 10 s.
    ws = windows(p, max(2, min(10, int(30 * float(p['spec'].get('quick', 1))))))
    good = [w for w in ws if w['p95'] < SLA['p95'] and w['p99'] < SLA['p99'] and w['err'] < SLA['err']
            and w['dropped'] == 0 and w['flows'] >= 0.9 * w['offered'] and w['offered'] > 0]
    bad = [w for w in ws if w not in good and w['offered'] > 0 and ws.index(w) > 0]
    best = max(good, key=lambda w: w['flows']) if good else None
    first_bad = next((w for w in bad if best and w['from'] > best['from']), None)
    return ws, best, first_bad


def bottleneck(p, at_window=None):
    """The component nearest its capacity: the app tier against its cgroup quota (and its
    throttling), every other component against one core (they are single-threaded at heart
    or, like MariaDB, bounded by the box's two cores)."""
    cap_app = 100.0 * float(p['spec']['cpus'])
    rows = []
    for c, v in p['cpu_p90'].items():
        if c in ('nginx', 'workers'):
            continue
        rows.append((v / 100.0, c, f'{v:.0f}% of one core (P90)'))
    app = p['cpu_p90'].get('workers', 0) + p['cpu_p90'].get('nginx', 0)
    rows.append((app / cap_app, 'application tier (nginx + workers)',
                 f"{app:.0f}% against a {cap_app:.0f}% quota (P90), throttled in {p['throttled_pct']:.0f}% of CFS periods"))
    rows.sort(reverse=True)
    return rows


def machine_busiest(path):
    """The busiest 10 s of the sum of every sampled component's CPU (% of one core)."""
    try:
        totals = [sum(json.loads(line)['cpu'].values()) for line in open(path) if line.strip()]
    except (OSError, ValueError, KeyError):
        return None
    if len(totals) < 10:
        return None
    return max(sum(totals[i:i + 10]) / 10 for i in range(len(totals) - 9))


def fmt(x, d=1):
    return f'{x:.{d}f}'


def verdict(ok):
    return 'pass' if ok else '**FAIL**'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('results')
    ap.add_argument('--doc', default=os.path.join(REPO, 'docs', 'loadtest-report.md'))
    ap.add_argument('--img', default=os.path.join(REPO, 'docs', 'img', 'loadtest'))
    a = ap.parse_args()
    os.makedirs(a.img, exist_ok=True)
    phases = [x for x in (phase(os.path.join(a.results, n)) for n in ORDER) if x]
    if not phases:
        sys.exit(f'no phase results under {a.results}')
    quick = phases[0]['spec'].get('quick', 1)
    L = ['# Load-test report', '',
         f'Generated by `loadtest/report.py` from `{os.path.relpath(a.results, REPO)}` on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}; '
         f'reproduce with `loadtest/run-plan{"" if quick == 1 else f" --quick {quick}"}`. Every figure below comes from that run\'s files.', '']
    if quick != 1:
        L += [f'> **Quick run: every phase ran at {quick} x its planned duration.** Rates are the plan\'s; '
              'short phases make P99 and the knee less certain.', '']
    L += ['Load generator: the k6 scripts of `k6/` under the Node.js k6 shim (`loadtest/k6-shim`) on the same '
          'two cores as the stack, so every figure includes that contention; its own CPU is in the tables.', '',
          '## Results per phase', '',
          '| phase | spec (app tier) | offered TPS | achieved TPS | flows/s | P50 ms | P95 ms | P99 ms | errors | dropped it. | consistency (k6 / SQL) | SLA |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for p in phases:
        ok = p['p95'] < SLA['p95'] and p['p99'] < SLA['p99'] and p['err'] < SLA['err']
        offered = sum(sum(q['target'].values()) for q in p['series']) / max(1, len(p['series'])) * 5
        cons = f"{'ok' if p['consistency_k6'] else 'FAIL'} / {'ok' if p['consistency_sql'] else 'FAIL'}"
        L.append(f"| {p['name']} | {p['spec']['cpus']} CPU / {p['spec']['memory_mb']} MB | {fmt(offered, 0)} | {fmt(p['tps'], 0)} | {fmt(p['flows'])} "
                 f"| {fmt(p['p50'])} | {fmt(p['p95'])} | {fmt(p['p99'])} | {fmt(100 * p['err'], 2)}% | {p['dropped']:.0f} | {cons} | {verdict(ok)}{' (aborted)' if p['aborted'] else ''} |")
    L += ['', 'Offered TPS = offered flows/s x 5 requests per flow (k6/lib/plan.js). Errors exclude 409/402/429, which are '
          'business answers; they are counted as `business_conflicts`.', '',
          '## Resource use per phase (docker-stats-like, from /proc)', '',
          '| phase | component | CPU avg % | CPU P90 % | RSS max MB |', '|---|---|---|---|---|']
    for p in phases:
        for c in sorted(p['cpu']):
            L.append(f"| {p['name']} | {c} | {fmt(p['cpu_avg'].get(c, 0), 0)} | {fmt(p['cpu_p90'].get(c, 0), 0)} | {fmt(p['rss'].get(c, 0), 0)} |")
        L.append(f"| {p['name']} | app cgroup | throttled {fmt(p['throttled_pct'], 0)}% of periods | | {fmt(p['app_mem_max'], 0)} (cgroup) |")
    L += ['', 'Server-side counters over each phase (from /metrics):', '',
          '| phase | tx retries | DB errors | Redis errors | worker restarts |', '|---|---|---|---|---|']
    for p in phases:
        d = p['delta']
        L.append(f"| {p['name']} | {d['ticketing_tx_retries_total']:.0f} | {d['ticketing_db_errors_total']:.0f} | {d['ticketing_redis_errors_total']:.0f} | {d['ticketing_worker_restarts_total']:.0f} |")
    L += ['', '## Charts', '']
    for p in phases:
        path = chart(p, a.img)
        if path:
            L += [f"### {p['name']}", '', f"![{p['name']}]({os.path.relpath(path, os.path.dirname(a.doc))})", '']
    stress = next((p for p in phases if p['name'] == 'stress'), None)
    L += ['## Stress test: the knee', '']
    if stress:
        ws, best, first_bad = knee(stress)
        L += ['| window (s) | offered flows/s | completed flows/s | TPS | P95 ms | P99 ms | errors | dropped |', '|---|---|---|---|---|---|---|---|']
        for w in ws:
            L.append(f"| {w['from']}-{w['from'] + w['width']} | {fmt(w['offered'])} | {fmt(w['flows'])} | {fmt(w['tps'], 0)} | {fmt(w['p95'])} | {fmt(w['p99'])} | {fmt(100 * w['err'], 2)}% | {w['dropped']} |")
        if best:
            L += ['', f"**Maximum sustainable flow rate: {fmt(best['flows'])} flows/s ({fmt(best['tps'], 0)} requests/s)** - the highest 10 s "
                  'window with P95 < 500 ms, P99 < 1 s, errors < 1 %, no dropped iterations and at least 90 % of the offered flows completed.']
            if first_bad:
                L.append(f"The next step (offered {fmt(first_bad['offered'])} flows/s) broke it: P95 {fmt(first_bad['p95'])} ms, "
                         f"errors {fmt(100 * first_bad['err'], 2)} %, {first_bad['dropped']} dropped iterations.")
            else:
                L.append('No window after it broke the SLA: the knee lies beyond the stress profile; raise STRESS in k6/lib/plan.js.')
        else:
            L += ['', 'No window met the SLA: the knee lies below the first stress step.']
        L += ['', '## Bottleneck', '', f"Components nearest their capacity during the stress run ({stress['spec']['cpus']} CPU app tier):", '']
        for share, c, why in bottleneck(stress):
            L.append(f'- {c}: {why} -> {fmt(100 * share, 0)} % of its capacity')
        top = bottleneck(stress)[0]
        L += ['', f"The first to saturate is **{top[1]}**. Evidence: the CPU series in the stress chart and the table above; "
              f"tx retries {stress['delta']['ticketing_tx_retries_total']:.0f}, DB errors {stress['delta']['ticketing_db_errors_total']:.0f} over the run. "
              f"The load generator itself used {fmt(stress['cpu_avg'].get('loadgen', 0), 0)} % of a core on average on the same two cores, "
              'so on this box part of the ceiling is the shared CPU, not the service.', '']
        busiest = machine_busiest(os.path.join(a.results, 'stress', 'resources.jsonl'))
        if busiest is not None:
            L += [f"All measured components together (stack and load generator) reached {fmt(busiest, 0)} % of the "
                  f"{100 * (os.cpu_count() or 2)} % this machine has (busiest 10 s of the run): past the knee the box itself is "
                  'full, so a faster load generator would not move it; more cores (or the load generator on another host) would.', '']
    else:
        L += ['Not run.', '']
    L += ['## Recommended spec', '']
    stages = [p for p in phases if p['name'].startswith('stage')]
    passing = [p for p in stages if p['p95'] < SLA['p95'] and p['p99'] < SLA['p99'] and p['err'] < SLA['err']
               and p['consistency_k6'] and p['consistency_sql']]
    if passing:
        top = max(passing, key=lambda p: p['tps'])
        app = top['cpu_p90'].get('workers', 0) + top['cpu_p90'].get('nginx', 0)
        cap = 100 * float(top['spec']['cpus'])
        L += [f"The largest stage that held the SLA with consistent data is **{top['name']}** at {fmt(top['tps'], 0)} TPS on "
              f"{top['spec']['cpus']} CPU / {top['spec']['memory_mb']} MB: P95 {fmt(top['p95'])} ms "
              f"({fmt(100 * top['p95'] / SLA['p95'], 0)} % of the SLA), the application tier at {fmt(app, 0)} % of its {fmt(cap, 0)} % quota (P90) "
              f"and {fmt(top['app_mem_max'], 0)} MB of its {top['spec']['memory_mb']} MB.",
              f"Recommendation: {top['spec']['cpus']} CPU and {max(512, int(2 ** math.ceil(math.log2(max(1, top['app_mem_max']) * 2))))} MB per application instance "
              '(twice the measured peak memory, rounded up to a power of two), with the CPU headroom above kept for spikes; '
              'scale out beyond the stress knee rather than up.', '']
    else:
        L += ['No stage held the SLA with consistent data in this run: no spec can be recommended from it.', '']
    L += ['## SLA verdicts', '', '| phase | P95 < 500 ms | P99 < 1000 ms | errors < 1 % | consistency 100 % | TPS > 500 |', '|---|---|---|---|---|---|']
    for p in phases:
        L.append(f"| {p['name']} | {verdict(p['p95'] < SLA['p95'])} ({fmt(p['p95'])}) | {verdict(p['p99'] < SLA['p99'])} ({fmt(p['p99'])}) "
                 f"| {verdict(p['err'] < SLA['err'])} ({fmt(100 * p['err'], 2)} %) | {verdict(bool(p['consistency_k6'] and p['consistency_sql']))} "
                 f"| {'pass' if p['tps'] > SLA['tps'] else 'below'} ({fmt(p['tps'], 0)}) |")
    L += ['', '## Consistency checks (SQL, after each phase)', '']
    for p in phases:
        for c in p['db'].get('checks', []):
            L.append(f"- {p['name']}: {'ok' if c['violations'] == 0 else '**FAILED**'} {c['name']} ({c['detail']})")
    with open(a.doc, 'w') as f:
        f.write('\n'.join(L) + '\n')
    print(f'wrote {a.doc} and {len(phases)} charts in {a.img}')


if __name__ == '__main__':
    main()
