"""Running wrk and reading its report.

`run()` starts `taskset -c CPU wrk -tT -cC -dDs --latency URL` and parses what wrk prints:
requests completed, requests/s, bytes read, latency percentiles (50/75/90/99) and the error
counters (socket connect/read/write/timeout errors, non-2xx/3xx responses). A run with any
error is not a valid measurement; the caller decides what to do with it.
"""

import re

from . import proc

_TIME_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _time_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparsed wrk time {text!r}")
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def _size_bytes(text):
    m = re.fullmatch(r"([\d.]+)(B|KB|MB|GB|TB)", text)
    if not m:
        raise ValueError(f"unparsed wrk size {text!r}")
    return float(m.group(1)) * _SIZE_UNITS[m.group(2)]


def parse(out):
    r = {
        "requests": None, "duration_s": None, "bytes_read": None, "rps": None,
        "latency_us": {}, "errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0,
                                     "non_2xx_3xx": 0},
    }
    m = re.search(r"^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", out, re.M)
    if m:
        r["requests"] = int(m.group(1))
        r["duration_s"] = _time_us(m.group(2)) / 1e6
        r["bytes_read"] = _size_bytes(m.group(3))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if m:
        r["rps"] = float(m.group(1))
    for pct, val in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", out, re.M):
        r["latency_us"][f"p{pct}"] = _time_us(val)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        for k, v in zip(("connect", "read", "write", "timeout"), m.groups()):
            r["errors"][k] = int(v)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["errors"]["non_2xx_3xx"] = int(m.group(1))
    return r


def run(url, *, threads, connections, seconds, cpu, timeout_s="5s", headers=(), env=None):
    """Run wrk once; returns the parsed report plus 'raw' output and 'ok' (parsed fully).
    headers: extra request headers ("Name: value"); env: extra environment for wrk (the TLS
    client settings of harness.tls)."""
    cmd = ["taskset", "-c", str(cpu), "wrk", f"-t{threads}", f"-c{connections}",
           f"-d{seconds}s", f"--timeout={timeout_s}", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    code, out = proc.run_tracked(cmd, timeout=float(seconds) + 60, env=env)
    out = out.decode(errors="replace")
    r = parse(out)
    r["raw"] = out
    r["cmd"] = " ".join(f"{k}={v}" for k, v in (env or {}).items()) + (" " if env else "") \
        + " ".join(f"'{c}'" if " " in c else c for c in cmd)
    r["exit_code"] = code
    r["ok"] = (code == 0 and r["requests"] is not None and r["rps"] is not None
               and "p99" in r["latency_us"] and "p50" in r["latency_us"])
    return r
