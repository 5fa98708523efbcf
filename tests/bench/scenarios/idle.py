"""idle — memory held per idle keep-alive connection, plain and TLS.

For each proxy (one worker, pinned as usual): open N connections (default 10 000,
BENCH_IDLE_CONNECTIONS), send one small request on each and read its answer, so every
connection has done an exchange and sits idle in keep-alive — the state a busy edge holds by
the thousand. The figure is the proxy's resident memory (VmRSS summed over its process tree)
after, minus before, divided by N. The same again over TLS 1.3 (the bench's ECDSA P-256
certificate; the client offers X25519 and TLS_AES_128_GCM_SHA256 only, no resumption).

Before measuring, the scenario checks that the proxy really holds the connections (its open
descriptors grew by at least N); a run where it did not is invalid. The proxies' connection
limits are raised for this scenario (nginx worker_connections, HAProxy maxconn); Gatehouse has
none to raise.

Goal (spec/bench.md): ≤ 1 KiB per plain and ≤ 8 KiB per TLS connection.
"""

import os
import resource
import socket
import ssl
import threading
import time

from harness import compare
from harness import proc as procmod
from harness import servers as srv
from harness import tls as tlsmod
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "idle"
TITLE = "idle keep-alive connections: memory per connection"

GOAL_BYTES = {"plain": 1024, "tls": 8192}
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _connections():
    v = os.environ.get("BENCH_IDLE_CONNECTIONS", "").strip()
    return int(v) if v else 10_000


def proxies(cert, n):
    def make(ctx, up_port):
        cpu = ctx.proxy_cpu
        out = [
            srv.NginxProxy(ctx, ctx.port(81), cpu, up_port, tls=cert),
            srv.HAProxy(ctx, ctx.port(82), cpu, up_port, tls=cert),
            srv.Gatehouse(ctx, ctx.port(80), cpu, up_port, ctx.port(90), ctx.gatehouse,
                          tls=cert),
        ]
        for p in out:
            p.max_connections = n + 1024
        # HAProxy wants two descriptors per connection it accepts (one for the server side)
        # and refuses to start when it cannot have them: under a descriptor limit below
        # 2 x n it gets what the limit allows, and holds that many (the figure is per
        # connection, so it stays comparable; the report shows how many were held).
        out[1].max_connections = min(n + 1024, (_fd_limit() - 200) // 2)
        return out
    return make


def _fd_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def target(proxy, n):
    """How many connections this proxy is asked to hold."""
    return min(n, proxy.max_connections - 64)


def rss_bytes(pid):
    total = 0
    for p in procmod.descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def open_fds(pid):
    total = 0
    for p in procmod.descendants(pid):
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return total


def _read_answer(s):
    """Reads one small response (head + Content-Length body); returns the status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed inside the body")
        body += chunk
    return head.split(b"\r\n", 1)[0]


def _hold_some(port, n, tls_ctx, socks, errors):
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if tls_ctx:
                s = tls_ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(REQUEST)
            if not _read_answer(s).startswith(b"HTTP/1.1 200"):
                errors.append(1)
            socks.append(s)
        except OSError:
            errors.append(1)


def hold(port, n, tls_ctx, threads=4):
    """Opens n connections that each did one exchange; returns (sockets, errors). A few
    threads (TLS handshakes release the GIL), so that opening them all takes well under the
    proxies' 120 s keep-alive timeout even on a loaded machine."""
    socks, errors = [], []
    share = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=_hold_some, args=(port, k, tls_ctx, socks, errors))
               for k in share]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return socks, len(errors)


def client_tls():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    c.minimum_version = ssl.TLSVersion.TLSv1_3
    c.set_ecdh_curve(tlsmod.GROUP)
    c.options |= ssl.OP_NO_TICKET
    return c


def measure(proxy, n, tls_ctx):
    time.sleep(0.5)
    before, fds_before = rss_bytes(proxy.proc.pid), open_fds(proxy.proc.pid)
    t0 = time.monotonic()
    socks, errors = hold(proxy.port, n, tls_ctx)
    opening = time.monotonic() - t0
    time.sleep(1.0)  # let the proxy settle (buffers released after the exchange)
    after, fds_after = rss_bytes(proxy.proc.pid), open_fds(proxy.proc.pid)
    held = fds_after - fds_before
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    time.sleep(1.0)
    opened = len(socks)
    per = (after - before) / opened if opened else None
    valid = errors == 0 and held >= n
    notes = []
    if errors:
        notes.append(f"{errors} of {n} connections failed")
    if held < n:
        notes.append(f"the proxy's descriptors grew by {held}, fewer than {n}")
    return {"proxy": proxy.name, "connections": opened, "errors": errors,
            "rss_before": before, "rss_after": after, "fds_held": held,
            "bytes_per_connection": per, "opening_seconds": round(opening, 1),
            "valid": valid, "notes": notes}


def run(ctx):
    n = _connections()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 1024:
        raise RuntimeError(f"the descriptor limit is {soft}; {n} connections need {n + 1024}")
    tls_dir = os.path.join(ctx.work, "tls")
    cert = tlsmod.make_edge_cert(tls_dir)
    results = {"plain": [], "tls": []}
    messages, servers, valid = [], {}, True
    for mode in ("plain", "tls"):
        with Lineup(ctx) as lineup:
            lineup.start(proxies(cert if mode == "tls" else None, n))
            if not lineup.proxies:
                raise RuntimeError("no proxy could be started")
            for p in lineup.proxies:
                r = measure(p, target(p, n), client_tls() if mode == "tls" else None)
                print(f"idle {mode} {p.name}: {r['bytes_per_connection'] or 0:.0f} B/connection "
                      f"({r['connections']} held)" + ("" if r["valid"] else " INVALID: "
                                                      + "; ".join(r["notes"])), flush=True)
                results[mode].append(r)
                valid = valid and r["valid"]
            messages += lineup.messages
            valid = valid and not lineup.failed
            servers.update(lineup.describe())

    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in messages]
    md.append(f"- {n} connections per proxy (HAProxy: as many as the descriptor limit "
              f"{_fd_limit()} allows it), each after one small exchange, held idle; "
              "RSS (VmRSS summed over the process tree) after minus before, per connection")
    md.append("- goal: Gatehouse ≤ 1 KiB per plain and ≤ 8 KiB per TLS connection")
    md.append("- " + "; ".join(s["version"] for name, s in servers.items() if name != "upstream"))
    goals = {}
    for mode in ("plain", "tls"):
        md += ["", f"### {mode}", "", "| proxy | bytes per connection | held | RSS before | "
               "RSS after | opening them (4 client threads) |", "|---|---:|---:|---:|---:|---:|"]
        for r in results[mode]:
            per = r["bytes_per_connection"]
            md.append(f"| {compare.LABELS.get(r['proxy'], r['proxy'])} | "
                      f"{'–' if per is None else f'{per:.0f}'} | {r['fds_held']} | "
                      f"{r['rss_before'] / 1048576:.1f} MiB | {r['rss_after'] / 1048576:.1f} MiB | "
                      f"{r['opening_seconds']} s |")
            for note in r["notes"]:
                md.append(f"\n- INVALID run: {r['proxy']}: {note}")
        g = next((r for r in results[mode] if r["proxy"] == "gatehouse"), None)
        if g and g["bytes_per_connection"] is not None:
            goals[mode] = g["bytes_per_connection"] <= GOAL_BYTES[mode]
            md += ["", f"Gatehouse goal: ≤ {GOAL_BYTES[mode]} B per {mode} connection "
                   + compare.verdict(goals[mode])]
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": messages, "servers": servers, "connections": n,
            "results": results, "goals": goals}
