"""Side-by-side measurement of proxies, interleaved, as spec/bench.md asks.

For each case (a path with a known response body) the proxies are measured in turn,
A B C A B C ..., `ctx.runs` rounds, so slow drifts of this shared machine hit every proxy
alike. One measurement = a warm-up wrk run (ctx.warmup seconds, discarded) followed by the
measured wrk run (ctx.seconds); the proxy's CPU time is read from /proc just before and just
after the measured run. Figures per run:

  cpu_us_per_req  proxy CPU (utime+stime of all its processes) / requests completed
  rps             wrk's requests/s
  p50/p99         wrk --latency percentiles, microseconds
  sched_us_per_req  the same CPU from schedstat (ns clock), a cross-check of the tick figure
  proxy_core_busy   proxy CPU / wall time of the window (how loaded the proxy was)
  foreign_load      share of the proxy CPU's time used by anything else (other engineers'
                    compilers on this shared machine): noise indicator

A run is invalid (excluded from the medians, and the bench exits non-zero) if wrk reports any
socket error or non-2xx/3xx response, if bytes read per request is below the body size, if
wrk's output cannot be parsed, or if the proxy died or lost a process during the window.
"""

import statistics
import sys
import time

from . import proc as procmod
from . import wrk as wrkmod


def check_response(server, path, expected, tries=2, headers=None, keepalive=True, status=200):
    """GET path `tries` times over one connection: `status` (200 unless the case expects a
    local reply such as authz's 403), exact body, connection kept open (unless `keepalive`
    is False: then one request, and the proxy may close)."""
    if not keepalive:
        tries = 1
    try:
        c = server.http_connection(timeout=5)
        for i in range(tries):
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            if r.status != status:
                return False, f"GET {path}: status {r.status}, expected {status}"
            if body != expected:
                return False, (f"GET {path}: body of {len(body)} bytes differs from the "
                               f"upstream's {len(expected)} bytes")
            if r.will_close and i + 1 < tries:
                return False, f"GET {path}: the proxy closed a keep-alive connection"
        c.close()
        return True, "ok"
    except Exception as e:
        return False, f"GET {path}: {type(e).__name__}: {e}"


def measure_once(ctx, server, path, body_len, headers=(), env=None, status=200):
    """One measurement of `server` (its CPU = every process tree in server.proc.roots()).
    headers/env: extra wrk request headers and environment (see wrk.run). status: the
    status every response must have; when it is not 2xx/3xx, wrk's "Non-2xx or 3xx" count
    must equal the requests completed (every response was that local reply), otherwise it
    must be 0."""
    url = server.url(path)
    notes = []
    load = dict(threads=ctx.threads, connections=ctx.connections, cpu=ctx.load_cpu,
                headers=headers, env=env)
    if ctx.warmup > 0:
        w = wrkmod.run(url, seconds=max(1, round(ctx.warmup)), **load)
        werrs = dict(w["errors"])
        if not 200 <= status < 400 and werrs.get("non_2xx_3xx") == w["requests"]:
            werrs.pop("non_2xx_3xx")
        if not w["ok"] or any(werrs.values()):
            notes.append(f"warm-up had errors: {werrs}")
    roots = server.proc.roots()
    parts = getattr(server.proc, "procs", [])  # the hops of a chain, each also on its own
    busy_a, total_a = procmod.cpu_busy_ticks(ctx.proxy_cpu)
    snap_a = procmod.CpuSnapshot(roots)
    parts_a = [procmod.CpuSnapshot(p.pid) for p in parts]
    w = wrkmod.run(url, seconds=ctx.seconds, **load)
    parts_b = [procmod.CpuSnapshot(p.pid) for p in parts]
    snap_b = procmod.CpuSnapshot(roots)
    busy_b, total_b = procmod.cpu_busy_ticks(ctx.proxy_cpu)
    cpu = snap_b - snap_a
    wall_s = snap_b.t - snap_a.t
    notes += cpu["notes"]

    run = {
        "proxy": server.name, "path": path, "wall_s": wall_s,
        "requests": w["requests"], "rps": w["rps"], "duration_s": w["duration_s"],
        "latency_us": w["latency_us"], "errors": w["errors"],
        "bytes_read": w["bytes_read"], "cpu_ticks": cpu["ticks"], "cpu_us": cpu["us"],
        "sched_us": cpu["sched_us"], "pids": cpu["pids"], "wrk_cmd": w["cmd"],
    }
    reqs = w["requests"] or 0
    run["cpu_us_per_req"] = cpu["us"] / reqs if reqs else None
    run["sched_us_per_req"] = cpu["sched_us"] / reqs if reqs else None
    run["bytes_per_req"] = w["bytes_read"] / reqs if reqs and w["bytes_read"] else None
    run["proxy_core_busy"] = cpu["us"] / (wall_s * 1e6) if wall_s > 0 else None
    if parts:
        run["cpu_us_per_req_by_part"] = {
            p.name: ((b - a)["us"] / reqs if reqs else None)
            for p, a, b in zip(parts, parts_a, parts_b)}
    window_ticks = total_b - total_a
    foreign = (busy_b - busy_a) - cpu["ticks"]
    run["foreign_load"] = max(0.0, foreign / window_ticks) if window_ticks > 0 else None

    if not w["ok"]:
        notes.append(f"wrk failed or its output was not understood (exit {w['exit_code']}):\n"
                     + w["raw"][-800:])
    errs = {k: v for k, v in w["errors"].items() if v}
    if not 200 <= status < 400:
        non2xx = errs.pop("non_2xx_3xx", 0)
        if reqs and non2xx != reqs:
            errs["responses_other_than_expected_" + str(status)] = reqs - non2xx
    if errs:
        notes.append("wrk errors: " + ", ".join(f"{k} {v}" for k, v in errs.items()))
    short_body = (run["bytes_per_req"] is not None and run["bytes_per_req"] < 0.99 * body_len)
    if short_body:
        notes.append(f"{run['bytes_per_req']:.0f} bytes read per request < body {body_len}")
    alive = server.proc.alive()
    if not alive:
        notes.append("the proxy died during the run")
    lost = any("exited during" in n for n in cpu["notes"])
    run["valid"] = bool(w["ok"] and not errs and reqs > 0 and alive and not lost
                        and not short_body)
    run["notes"] = notes
    return run


def fmt_us(v):
    if v is None:
        return "–"
    if v < 1000:
        return f"{v:.0f} µs"
    if v < 1e6:
        return f"{v / 1000:.2f} ms"
    return f"{v / 1e6:.2f} s"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def progress(tag, run):
    lat = run["latency_us"]
    cpu = run["cpu_us_per_req"]
    line = (f"[{tag}] {run['proxy']:<9} "
            f"{(f'{cpu:6.2f}' if cpu is not None else '     –')} µs/req  "
            f"{(run['rps'] or 0):9.0f} req/s  p50 {fmt_us(lat.get('p50')):>9}  "
            f"p99 {fmt_us(lat.get('p99')):>9}  proxy core "
            f"{(run['proxy_core_busy'] or 0) * 100:3.0f}% busy, foreign load "
            f"{(run['foreign_load'] or 0) * 100:3.0f}%")
    if not run["valid"]:
        line += "  INVALID"
    print(line, flush=True)
    for n in run["notes"]:
        print(f"    note: {n}", flush=True)


def summarize(runs):
    """Medians over the valid runs of one proxy in one case."""
    valid = [r for r in runs if r["valid"]]
    s = {"runs": len(runs), "valid_runs": len(valid)}

    def med(f):
        vals = [f(r) for r in valid]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    s["cpu_us_per_req"] = med(lambda r: r["cpu_us_per_req"])
    part_names = sorted({n for r in valid for n in r.get("cpu_us_per_req_by_part", {})})
    if part_names:
        s["cpu_us_per_req_by_part"] = {
            n: med(lambda r, n=n: r.get("cpu_us_per_req_by_part", {}).get(n))
            for n in part_names}
    s["sched_us_per_req"] = med(lambda r: r["sched_us_per_req"])
    s["rps"] = med(lambda r: r["rps"])
    s["p50_us"] = med(lambda r: r["latency_us"].get("p50"))
    s["p99_us"] = med(lambda r: r["latency_us"].get("p99"))
    s["proxy_core_busy"] = med(lambda r: r["proxy_core_busy"])
    s["foreign_load"] = med(lambda r: r["foreign_load"])
    cpus = [r["cpu_us_per_req"] for r in valid if r["cpu_us_per_req"] is not None]
    s["cpu_us_per_req_min"] = min(cpus) if cpus else None
    s["cpu_us_per_req_max"] = max(cpus) if cpus else None
    return s


def ratio(a, b):
    return a / b if a is not None and b else None


def interleave(ctx, tag, servers, cases):
    """Measure every server on every case, interleaved. cases: [{name, path, body}], and
    optionally headers ({name: value}, sent by the check and by wrk), keepalive (False: the
    proxy is expected to close after each response) and wrk_env (extra environment for wrk).

    Returns [{name, path, body_bytes, runs: [...], summary: {proxy: {...}}, check: {...}}].
    A server whose response check fails on a case is not measured on it.
    """
    results = []
    for case in cases:
        checks = {}
        for s in servers:
            ok, msg = check_response(s, case["path"], case["body"],
                                     headers=case.get("headers"),
                                     keepalive=case.get("keepalive", True),
                                     status=case.get("status", 200))
            checks[s.name] = {"ok": ok, "message": msg}
            if not ok:
                print(f"[{tag} {case['name']}] {s.name}: response check FAILED: {msg}",
                      file=sys.stderr, flush=True)
        runs = []
        for i in range(ctx.runs):
            for s in servers:
                if not checks[s.name]["ok"]:
                    continue
                if not s.proc or not s.proc.alive():
                    checks[s.name] = {"ok": False, "message": "the proxy is no longer running"}
                    continue
                r = measure_once(ctx, s, case["path"], len(case["body"]),
                                 headers=[f"{k}: {v}" for k, v in
                                          case.get("headers", {}).items()],
                                 env=case.get("wrk_env"), status=case.get("status", 200))
                r["round"] = i + 1
                runs.append(r)
                progress(f"{tag} {case['name']} {i + 1}/{ctx.runs}", r)
        summary = {s.name: summarize([r for r in runs if r["proxy"] == s.name])
                   for s in servers if checks[s.name]["ok"] or
                   any(r["proxy"] == s.name for r in runs)}
        results.append({"name": case["name"], "path": case["path"],
                        "body_bytes": len(case["body"]), "check": checks,
                        "runs": runs, "summary": summary})
    return results


def add_ratios(case, refs=("nginx", "haproxy")):
    """Per proxy: CPU/request and p99 relative to each reference proxy (same case, medians)."""
    summ = case["summary"]
    for name, s in summ.items():
        s["ratios"] = {}
        for ref in refs:
            r = summ.get(ref)
            if not r:
                continue
            s["ratios"][f"cpu_vs_{ref}"] = ratio(s["cpu_us_per_req"], r["cpu_us_per_req"])
            s["ratios"][f"p99_vs_{ref}"] = ratio(s["p99_us"], r["p99_us"])
            s["ratios"][f"rps_vs_{ref}"] = ratio(s["rps"], r["rps"])


LABELS = {"nginx": "nginx", "haproxy": "HAProxy", "gatehouse": "Gatehouse"}


def md_bullet(text):
    """A markdown list item; lines after the first (e.g. a log tail) go in a code block."""
    first, _, rest = text.partition("\n")
    if not rest.strip():
        return f"- {first}"
    return f"- {first}\n\n  ```\n" + "\n".join(f"  {ln}" for ln in rest.splitlines()) + "\n  ```"


def _num(v, fmt):
    return "–" if v is None else format(v, fmt)


def _pct(v):
    return "–" if v is None else f"{v * 100:.0f}%"


def markdown_table(case, order=("nginx", "haproxy", "gatehouse")):
    lines = ["| proxy | CPU µs/req | (min–max) | req/s | p50 | p99 | CPU vs nginx | "
             "CPU vs HAProxy | p99 vs nginx | valid runs | proxy core busy | foreign load |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for name in order:
        s = case["summary"].get(name)
        if s is None:
            continue
        rt = s.get("ratios", {})
        lo, hi = s["cpu_us_per_req_min"], s["cpu_us_per_req_max"]
        rng = "–" if lo is None else f"{lo:.2f}–{hi:.2f}"
        cells = [LABELS.get(name, name), _num(s["cpu_us_per_req"], ".2f"), rng,
                 _num(s["rps"], ".0f"), fmt_us(s["p50_us"]), fmt_us(s["p99_us"]),
                 fmt_ratio(rt.get("cpu_vs_nginx")), fmt_ratio(rt.get("cpu_vs_haproxy")),
                 fmt_ratio(rt.get("p99_vs_nginx")), f"{s['valid_runs']}/{s['runs']}",
                 _pct(s["proxy_core_busy"]), _pct(s["foreign_load"])]
        lines.append("| " + " | ".join(cells) + " |")
    for name, c in case["check"].items():
        if not c["ok"]:
            lines.append(f"\n{LABELS.get(name, name)}: response check failed — {c['message']}")
    return "\n".join(lines)


def md_invalid_runs(case):
    """Report lines for the runs of a case that were excluded from the medians."""
    return [f"\n- INVALID run: {r['proxy']} round {r['round']}: "
            + "; ".join(n.splitlines()[0] for n in r["notes"])
            for r in case["runs"] if not r["valid"]]


def case_valid(case):
    """Every run valid and every response check passed."""
    return (all(r["valid"] for r in case["runs"])
            and all(c["ok"] for c in case["check"].values()))


def md_log_problems(log_problems):
    out = []
    for name, lines in log_problems.items():
        if lines:
            out.append(f"- {name} log: " + " / ".join(lines[:3])
                       + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else ""))
    return out


def verdict(v):
    return "–" if v is None else ("met" if v else "**not met**")
