#!/usr/bin/env python3
"""Resource use of the stack's components over a run, like `docker stats` but from /proc.

  resources.py sample --stack DIR --out FILE [--interval 1] [--loadgen-match TEXT]
      one JSON line per interval: CPU % (of one core) and RSS MB per component, plus the
      application cgroup's throttling and memory when loadtest/resources.py limit set one.
  resources.py limit --stack DIR --cpus N --memory-mb M     cgroup v1 caps on nginx + workers
  resources.py unlimit --stack DIR                          undo: processes back, cgroup gone
  resources.py pool --stack DIR --pool N --memory-mb M      (re)start worker pool N inside a new memory
      cgroup capped at M MB, so every page the pool ever touches is charged to it (what `limit`
      cannot do here: the kernel refuses memory.move_charge_at_immigrate, so moving a running
      pool leaves its pages charged to the old cgroup). The OOM drill of docs/runbook.md §3.
  resources.py unpool --stack DIR --pool N                  restart pool N outside it, cgroup gone
"""
import argparse, glob, json, os, signal, sys, time

CLK = os.sysconf('SC_CLK_TCK')
PAGE = os.sysconf('SC_PAGE_SIZE')
APP_CGROUP = 'ticketing-app'
APP_COMPONENTS = ('nginx', 'workers')


def children_map():
    kids = {}
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat) as f:
                parts = f.read().rsplit(')', 1)[1].split()
            kids.setdefault(int(parts[1]), []).append(int(stat.split('/')[2]))
        except (OSError, IndexError):
            pass
    return kids


def tree(pid, kids):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def components(stack, loadgen_match=None):
    """component -> list of pids (each pid file's process and its descendants)."""
    kids = children_map()
    comps = {}
    for pidfile in sorted(glob.glob(os.path.join(stack, 'run', '*.pid'))):
        name = os.path.basename(pidfile)[:-4]
        pid = read_pid(pidfile)
        if pid is None or not os.path.exists(f'/proc/{pid}'):
            continue
        key = 'workers' if name.startswith('worker-') else name
        comps.setdefault(key, []).extend(tree(pid, kids))
    if loadgen_match:
        for cmd in glob.glob('/proc/[0-9]*/cmdline'):
            try:
                with open(cmd, 'rb') as f:
                    text = f.read().replace(b'\0', b' ').decode(errors='replace')
            except OSError:
                continue
            if loadgen_match in text and 'resources.py' not in text:
                comps.setdefault('loadgen', []).append(int(cmd.split('/')[2]))
    return comps


def proc_stats(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            parts = f.read().rsplit(')', 1)[1].split()
        return int(parts[11]) + int(parts[12]), int(parts[21]) * PAGE
    except (OSError, IndexError):
        return None


def cgroup_dir(controller, pid='self'):
    with open(f'/proc/{pid}/cgroup') as f:
        for line in f:
            _, ctrls, path = line.strip().split(':', 2)
            if controller in ctrls.split(','):
                return f'/sys/fs/cgroup/{controller}{path}'.rstrip('/')
    return None


def app_cgroups(stack):
    try:
        with open(os.path.join(stack, 'run', 'loadtest-cgroup.json')) as f:
            return {k: v['dir'] for k, v in json.load(f).items()}
    except (OSError, ValueError):
        return {}


def read_kv(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
    except OSError:
        pass
    return out


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def sample(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    prev, prev_t = {}, time.time()
    with open(args.out, 'w') as out:
        while not stop:
            time.sleep(args.interval)
            now = time.time()
            row = {'t': now, 'cpu': {}, 'rss_mb': {}}
            for comp, pids in components(args.stack, args.loadgen_match).items():
                ticks = rss = 0
                for pid in pids:
                    s = proc_stats(pid)
                    if s is None:
                        continue
                    key = (comp, pid)
                    if key in prev:
                        ticks += max(0, s[0] - prev[key])
                    prev[key] = s[0]
                    rss += s[1]
                row['cpu'][comp] = round(100.0 * ticks / CLK / (now - prev_t), 1)
                row['rss_mb'][comp] = round(rss / 1e6, 1)
            cg = app_cgroups(args.stack)
            if 'cpu' in cg:
                st = read_kv(os.path.join(cg['cpu'], 'cpu.stat'))
                row['app_throttled_periods'] = st.get('nr_throttled', 0)
                row['app_periods'] = st.get('nr_periods', 0)
            if 'memory' in cg:
                row['app_mem_mb'] = round((read_int(os.path.join(cg['memory'], 'memory.usage_in_bytes')) or 0) / 1e6, 1)
                row['app_mem_failcnt'] = read_int(os.path.join(cg['memory'], 'memory.failcnt'))
            prev_t = now
            out.write(json.dumps(row) + '\n')
            out.flush()


def app_pids(stack):
    comps = components(stack)
    return [p for c in APP_COMPONENTS for p in comps.get(c, [])]


def write_cg(d, name, value):
    try:
        with open(os.path.join(d, name), 'w') as f:
            f.write(str(value))
    except OSError as e:
        sys.exit(f'cannot write {value} to {d}/{name}: {e}')


def move_procs(src, dst):
    """Moves every process of cgroup directory `src` to `dst` (one that exits meanwhile is skipped)."""
    for p in open(os.path.join(src, 'cgroup.procs')).read().split():
        try:
            with open(os.path.join(dst, 'cgroup.procs'), 'w') as f:
                f.write(p)
        except OSError:
            pass


def limit(args):
    pids = app_pids(args.stack)
    if not pids:
        sys.exit('no nginx/worker processes found under ' + args.stack)
    made = {}
    for ctrl in ('cpu', 'memory'):
        parent = cgroup_dir(ctrl, pids[0])
        if parent and os.path.basename(parent) == APP_CGROUP:  # left over from an interrupted run
            parent = os.path.dirname(parent)
        if not parent or not os.access(parent, os.W_OK):
            print(f'cgroup v1 {ctrl} controller not writable here: no {ctrl} limit', file=sys.stderr)
            continue
        d = os.path.join(parent, APP_CGROUP)
        os.makedirs(d, exist_ok=True)
        if ctrl == 'cpu':
            write_cg(d, 'cpu.cfs_quota_us', -1)  # unlimited first: a period change must fit the old quota
            write_cg(d, 'cpu.cfs_period_us', 100000)
            write_cg(d, 'cpu.cfs_quota_us', int(args.cpus * 100000))
        else:
            # Move the processes' pages along, so the limit covers what they already use.
            try:
                with open(os.path.join(d, 'memory.move_charge_at_immigrate'), 'w') as f:
                    f.write('3')
            except OSError:
                pass  # deprecated on newer kernels: new allocations are still capped
            with open(os.path.join(d, 'memory.limit_in_bytes'), 'w') as f:
                f.write(str(args.memory_mb * 1024 * 1024))
        for p in pids:
            try:
                with open(os.path.join(d, 'cgroup.procs'), 'w') as f:
                    f.write(str(p))
            except OSError:
                pass  # exited meanwhile
        made[ctrl] = {'dir': d, 'parent': parent}
    with open(os.path.join(args.stack, 'run', 'loadtest-cgroup.json'), 'w') as f:
        json.dump(made, f)
    print(f'application tier ({len(pids)} processes) limited to {args.cpus} CPU, {args.memory_mb} MB: '
          + ', '.join(v['dir'] for v in made.values()))


def unlimit(args):
    state = os.path.join(args.stack, 'run', 'loadtest-cgroup.json')
    try:
        with open(state) as f:
            made = json.load(f)
    except OSError:
        return
    for ctrl, v in made.items():
        move_procs(v['dir'], v['parent'])
        try:
            os.rmdir(v['dir'])
        except OSError as e:
            print(f'could not remove {v["dir"]}: {e}', file=sys.stderr)
    os.remove(state)
    print('application tier limits removed')


def pool_state(stack, n):
    return os.path.join(stack, 'run', f'loadtest-pool-{n}-cgroup.json')


def pool(args):
    parent = cgroup_dir('memory')
    if parent and os.path.basename(parent).startswith('ticketing-pool-'):
        parent = os.path.dirname(parent)
    if not parent or not os.access(parent, os.W_OK):
        sys.exit(f'cgroup v1 memory controller not writable here ({parent}): cannot cap a pool')
    d = os.path.join(parent, f'ticketing-pool-{args.pool}')
    os.makedirs(d, exist_ok=True)
    write_cg(d, 'memory.limit_in_bytes', args.memory_mb * 1024 * 1024)
    with open(pool_state(args.stack, args.pool), 'w') as f:
        json.dump({'dir': d, 'parent': parent}, f)
    stack_cmd = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'stack')
    pid = os.fork()
    if pid == 0:  # this process joins the cgroup first, then becomes the restart: the new
        write_cg(d, 'cgroup.procs', os.getpid())  # master and its children are born inside
        os.environ['TICKETING_STACK_DIR'] = args.stack
        os.execv(stack_cmd, [stack_cmd, 'restart', f'worker-{args.pool}'])
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f'scripts/stack restart worker-{args.pool} failed')
    procs = open(os.path.join(d, 'cgroup.procs')).read().split()
    print(f'pool {args.pool} restarted inside {d}: {len(procs)} processes, limit {args.memory_mb} MB, '
          f'usage {read_int(os.path.join(d, "memory.usage_in_bytes")) / 1e6:.1f} MB, failcnt {read_int(os.path.join(d, "memory.failcnt"))}')


def unpool(args):
    try:
        with open(pool_state(args.stack, args.pool)) as f:
            st = json.load(f)
    except OSError:
        sys.exit(f'no {pool_state(args.stack, args.pool)}: pool {args.pool} is not in a cgroup of ours')
    if cgroup_dir('memory') == st['dir']:
        sys.exit('run unpool from outside the pool cgroup')
    stack_cmd = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'stack')
    env = dict(os.environ, TICKETING_STACK_DIR=args.stack)
    if os.spawnve(os.P_WAIT, stack_cmd, [stack_cmd, 'restart', f'worker-{args.pool}'], env) != 0:
        sys.exit(f'scripts/stack restart worker-{args.pool} failed: the cgroup {st["dir"]} is kept')
    for _ in range(50):
        move_procs(st['dir'], st['parent'])  # stragglers (none expected): back to the parent
        try:
            os.rmdir(st['dir'])
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(f'could not remove {st["dir"]}')
    os.remove(pool_state(args.stack, args.pool))
    print(f'pool {args.pool} restarted outside the cgroup; {st["dir"]} removed')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('cmd', choices=['sample', 'limit', 'unlimit', 'pool', 'unpool'])
    ap.add_argument('--pool', type=int, default=1)
    ap.add_argument('--stack', required=True)
    ap.add_argument('--out')
    ap.add_argument('--interval', type=float, default=1.0)
    ap.add_argument('--loadgen-match', default='k6-shim.mjs run')
    ap.add_argument('--cpus', type=float, default=1)
    ap.add_argument('--memory-mb', type=int, default=512)
    args = ap.parse_args()
    {'sample': sample, 'limit': limit, 'unlimit': unlimit, 'pool': pool, 'unpool': unpool}[args.cmd](args)


if __name__ == '__main__':
    main()
