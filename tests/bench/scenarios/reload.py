"""reload — a new configuration every second under load.

wrk (64 keep-alive connections, CPU 0) runs for BENCH_RELOAD_SECONDS (default 60) through the
proxy (CPU 1) while the configuration changes once a second:

- Gatehouse: `gatehouse apply` of a new version (the route's response header `x-config`
  changes each time, so every version differs and is compiled and published; run on the load
  CPU); the run checks afterwards that the server serves the last version applied.
- nginx: `SIGHUP` to the master (`nginx -s reload`): new workers with the configuration, the
  old ones finish their requests and close their keep-alive connections.

HAProxy is left out: its seamless reload needs master-worker mode with listener hand-over
(`-W`, `expose-fd listeners`), a different process setup from every other scenario here.

Goal (spec/bench.md): 0 failed requests and 0 reset connections for Gatehouse — wrk's socket
errors (connect, read, write, timeout) and non-2xx responses must all be 0.
"""

import os
import signal
import subprocess
import threading
import time
import urllib.request

from harness import compare
from harness import servers as srv
from harness import wrk as wrkmod
from harness.lineup import Lineup

NAME = "reload"
TITLE = "a new configuration every second under load"


def _seconds():
    v = os.environ.get("BENCH_RELOAD_SECONDS", "").strip()
    return int(v) if v else 60


class ReloadingGatehouse(srv.Gatehouse):
    """The bench Gatehouse, whose route sets `x-config: N` on responses, N the version."""

    serial = 0

    def config_yaml(self):
        return self.listener_yaml() + f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: upstream}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {self.upstream_port}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: bench}}]
  rules:
    - backendRefs: [{{name: upstream}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: {{set: [{{name: x-config, value: "{self.serial}"}}]}}
"""

    def reload(self):
        """Applies the next version; returns None on success, else the error."""
        self.serial += 1
        cfg = os.path.join(self.dir, f"config-{self.serial}.yaml")
        with open(cfg, "w") as f:
            f.write(self.config_yaml())
        r = subprocess.run(["taskset", "-c", str(self.ctx.load_cpu), self.binary, "apply",
                            "--data-dir", os.path.join(self.dir, "data"), "-f", cfg],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        os.unlink(cfg)
        return None if r.returncode == 0 else r.stdout.decode(errors="replace").strip()

    def served_serial(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as r:
            return r.headers.get("x-config")


class ReloadingNginx(srv.NginxProxy):
    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)
        return None


def proxies(ctx, up_port):
    cpu = ctx.proxy_cpu
    return [ReloadingNginx(ctx, ctx.port(81), cpu, up_port),
            ReloadingGatehouse(ctx, ctx.port(80), cpu, up_port, ctx.port(90), ctx.gatehouse)]


def measure(ctx, proxy, seconds):
    result = {}

    def load():
        result.update(wrkmod.run(proxy.url("/"), threads=ctx.threads,
                                 connections=ctx.connections, seconds=seconds,
                                 cpu=ctx.load_cpu))

    t = threading.Thread(target=load)
    t.start()
    reloads, failures = 0, []
    start = time.monotonic()
    time.sleep(1.0)
    while t.is_alive() and time.monotonic() - start < seconds - 1:
        tick = time.monotonic()
        err = proxy.reload()
        if err:
            failures.append(err)
        else:
            reloads += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    t.join()
    out = {"proxy": proxy.name, "reloads": reloads, "reload_failures": failures[:3],
           "requests": result.get("requests"), "rps": result.get("rps"),
           "errors": result.get("errors", {}), "p99_us": result.get("latency_us", {}).get("p99"),
           "wrk_ok": result.get("ok", False), "cmd": result.get("cmd")}
    if isinstance(proxy, ReloadingGatehouse):
        time.sleep(1.0)
        try:
            out["served_version"] = proxy.served_serial()
        except Exception as e:
            out["served_version"] = f"error: {e}"
        out["last_applied"] = str(proxy.serial)
    failed = sum(out["errors"].values()) if out["errors"] else None
    out["failed"] = failed
    out["valid"] = bool(out["wrk_ok"]) and not failures
    return out


def run(ctx):
    seconds = _seconds()
    results = []
    with Lineup(ctx) as lineup:
        lineup.start(proxies)
        if not lineup.proxies:
            raise RuntimeError("no proxy could be started")
        for p in lineup.proxies:
            r = measure(ctx, p, seconds)
            print(f"reload {p.name}: {r['reloads']} reloads, {r['requests']} requests, "
                  f"failed {r['failed']} ({r['errors']})", flush=True)
            results.append(r)
        servers = lineup.describe()
        messages = lineup.messages
        log_problems = lineup.log_problems()

    valid = not lineup.failed and all(r["valid"] for r in results)
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in messages]
    md.append(f"- wrk {ctx.connections} keep-alive connections for {seconds} s per proxy; one "
              "configuration change per second (Gatehouse: `gatehouse apply` of a new version; "
              "nginx: SIGHUP); HAProxy left out (its seamless reload needs master-worker mode)")
    md.append("- goal: Gatehouse 0 failed requests and 0 reset connections")
    md.append("- " + "; ".join(s["version"] for n, s in servers.items() if n != "upstream"))
    md += ["", "| proxy | reloads | requests | req/s | failed | connect | read (resets) | "
           "write | timeout | non-2xx | p99 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
           "---:|---:|"]
    goal = None
    for r in results:
        e = r["errors"] or {}
        md.append(f"| {compare.LABELS.get(r['proxy'], r['proxy'])} | {r['reloads']} | "
                  f"{r['requests']} | {compare._num(r['rps'], '.0f')} | {r['failed']} | "
                  f"{e.get('connect', '–')} | {e.get('read', '–')} | {e.get('write', '–')} | "
                  f"{e.get('timeout', '–')} | {e.get('non_2xx_3xx', '–')} | "
                  f"{compare.fmt_us(r['p99_us'])} |")
        if r["reload_failures"]:
            md.append(f"\n- INVALID run: {r['proxy']}: reload failed: {r['reload_failures'][0]}")
        if r["proxy"] == "gatehouse":
            goal = r["failed"] == 0 and r["served_version"] == r["last_applied"]
            md += ["", f"Gatehouse serves the last version applied: "
                   f"x-config {r['served_version']} (applied {r['last_applied']})"]
    if goal is not None:
        md += ["", "Gatehouse goal: 0 failed requests, 0 resets " + compare.verdict(goal)]
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": messages, "servers": servers, "seconds": seconds,
            "results": results, "goal_met": goal, "log_problems": log_problems}
