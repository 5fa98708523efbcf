"""Shared machinery of `make bench`: processes and CPU accounting (proc), wrk (wrk), the
upstream and the proxies (servers), interleaved side-by-side measurement (compare) and the
report (report). Scenarios live in tests/bench/scenarios/, one module each, and only use
what is exported here plus the `Context` they are given.
"""

import os


def _env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v.strip() else default
    except ValueError:
        raise SystemExit(f"bench: {name}={v!r} is not an integer")


def _env_float(name, default):
    v = os.environ.get(name, "")
    try:
        return float(v) if v.strip() else default
    except ValueError:
        raise SystemExit(f"bench: {name}={v!r} is not a number")


class Context:
    """Settings of one `make bench` invocation (from the environment) and where things go.

    Ports (all on 127.0.0.1): base+0 upstream, base+80 Gatehouse (as in the reference
    config), base+81 nginx, base+82 HAProxy, base+90 Gatehouse admin.
    """

    def __init__(self, root):
        self.root = root
        self.out = os.environ.get("BENCH_OUT") or os.path.join(root, "build", "bench")
        self.work = os.environ.get("BENCH_WORK") or os.path.join(self.out, "work")
        self.seconds = _env_int("BENCH_SECONDS", 10)
        self.warmup = _env_float("BENCH_WARMUP", 2)
        self.runs = _env_int("BENCH_RUNS", 3)
        self.connections = _env_int("BENCH_CONNECTIONS", 64)
        self.threads = _env_int("BENCH_THREADS", 1)
        self.load_cpu = _env_int("BENCH_LOAD_CPU", 0)
        self.proxy_cpu = _env_int("BENCH_PROXY_CPU", 1)
        self.port_base = _env_int("BENCH_PORT_BASE", 18000)
        wanted = os.environ.get("BENCH_PROXIES", "nginx,haproxy,gatehouse")
        self.proxies = [p.strip() for p in wanted.split(",") if p.strip()]
        self.gatehouse = os.environ.get("GATEHOUSE") or os.path.join(root, "build", "gatehouse")
        if self.runs < 1 or self.seconds < 1:
            raise SystemExit("bench: BENCH_RUNS and BENCH_SECONDS must be >= 1")

    def port(self, offset):
        return self.port_base + offset

    def gatehouse_built(self):
        return os.path.isfile(self.gatehouse) and os.access(self.gatehouse, os.X_OK)

    def settings(self):
        return {
            "seconds": self.seconds, "warmup_seconds": self.warmup, "runs": self.runs,
            "connections": self.connections, "wrk_threads": self.threads,
            "load_cpu": self.load_cpu, "proxy_cpu": self.proxy_cpu,
            "port_base": self.port_base, "proxies": self.proxies,
        }
