"""The access log (gatehouse run --access-log, docs/observability.md): one line per exchange —
proxied, answered locally, denied by authorization — in JSON or text; the authorization
decision names the policy and rule; SIGUSR1 reopens the file for log rotation."""

import http.client
import json
import os
import re
import signal
import stat
import unittest

from harness import Gatehouse, Upstream, free_port, simple_config, wait_for

POLICY = """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-admin}
spec:
  targetRefs: [{kind: Listener, group: gatehouse.dev, name: edge}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
"""

# Host limited.test: a route whose rate limit allows 2 requests an hour, then answers 429.
LIMITED = """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: limited}
spec:
  parentRefs: [{name: edge}]
  hostnames: [limited.test]
  rules: [{backendRefs: [{name: app}]}]
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: two-an-hour}
spec:
  targetRefs: [{kind: HTTPRoute, name: limited}]
  limit: {requests: 2, per: 1h}
"""

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def dead_service(port):
    """A route for Host dead.test to a Service whose endpoint refuses connections."""
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: dead}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: dead}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [dead.test]
  rules: [{{backendRefs: [{{name: dead}}]}}]
"""


def get(port, path, headers=None, body=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": "shop.test", **(headers or {})})
        r = c.getresponse()
        data = r.read()
        return (r.status, data) if body else r.status
    finally:
        c.close()


class AccessLogTest(unittest.TestCase):
    def start(self, fmt):
        self.upstream = Upstream("u1")
        self.port = free_port()
        self.gh = Gatehouse(workers=2)
        self.path = os.path.join(self.gh.data_dir, "access.log")
        self.gh.apply(simple_config(self.port, [self.upstream.port],
                                    extra=POLICY + dead_service(free_port()) + LIMITED))
        self.gh.start("--access-log", self.path, "--access-log-format", fmt)

    def tearDown(self):
        self.gh.cleanup()
        self.upstream.stop()

    def lines(self, path=None, n=1):
        path = path or self.path

        def read():
            try:
                with open(path) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []
        wait_for(lambda: len(read()) >= n, 5, what=f"{n} access-log lines in {path}")
        return read()

    def test_json_lines_for_proxied_local_and_denied_exchanges(self):
        self.start("json")
        self.assertEqual(get(self.port, "/echo/a?q=1", {"User-Agent": "probe/1",
                                                         "X-Request-Id": "rid-1"}), 200)
        self.assertEqual(get(self.port, "/admin/users"), 403)
        # Workers write to their own rings: lines of different workers are not in order.
        entries = {e["path"]: e for e in (json.loads(line) for line in self.lines(n=2))}
        ok, denied = entries["/echo/a"], entries["/admin/users"]
        self.assertEqual((ok["method"], ok["path"], ok["status"]), ("GET", "/echo/a", 200))
        self.assertEqual(ok["request_id"], "rid-1")
        self.assertEqual(ok["user_agent"], "probe/1")
        self.assertEqual(ok["listener"], "default/edge")
        self.assertTrue(ok["route"].startswith("default/all"), ok["route"])
        self.assertEqual(ok["upstream"], f"127.0.0.1:{self.upstream.port}")
        self.assertTrue(ok["client_address"].startswith("127.0.0.1:"))
        self.assertEqual(ok["authz_decision"], "allow")
        self.assertGreaterEqual(ok["duration_ms"], 0)
        self.assertEqual(denied["status"], 403)
        self.assertEqual((denied["authz_decision"], denied["authz_policy"], denied["authz_rule"]),
                         ("deny", "default/no-admin", "0"))
        self.assertNotIn("upstream", {k for k, v in denied.items() if v})

    def test_json_fields_of_allowed_denied_and_failed_exchanges(self):
        self.start("json")
        status, body = get(self.port, "/echo/ok", body=True)  # no x-request-id: one is made
        self.assertEqual(status, 200)
        sent_id = dict((k.lower(), v) for k, v in json.loads(body)["headers"])["x-request-id"]
        self.assertEqual(get(self.port, "/admin/x"), 403)
        self.assertEqual(get(self.port, "/down", {"Host": "dead.test"}), 502)
        entries = {e["path"]: e for e in (json.loads(line) for line in self.lines(n=3))}
        ok, denied, failed = entries["/echo/ok"], entries["/admin/x"], entries["/down"]
        # Allowed: the generated id is the one the upstream received (as Envoy does).
        self.assertRegex(ok["request_id"], UUID4)
        self.assertEqual(ok["request_id"], sent_id)
        self.assertEqual((ok["status"], ok["response_flags"], ok["authz_decision"]),
                         (200, "-", "allow"))
        self.assertGreater(ok["bytes_in"], len("GET /echo/ok HTTP/1.1\r\n"))
        # Head and body as sent: the echo's JSON plus a head of a few fields.
        self.assertGreater(ok["bytes_out"], len(body) + len("HTTP/1.1 200 OK\r\n\r\n"))
        self.assertLess(ok["bytes_out"], len(body) + 512)
        self.assertIsNotNone(ok["upstream_duration_ms"])
        self.assertLessEqual(ok["upstream_duration_ms"], ok["duration_ms"])
        # Denied: never went upstream.
        self.assertEqual((denied["status"], denied["response_flags"], denied["authz_decision"]),
                         (403, "RBAC", "deny"))
        self.assertIsNone(denied["upstream_duration_ms"])
        self.assertRegex(denied["request_id"], UUID4)
        self.assertGreater(denied["bytes_out"], 0)
        # Failed: the endpoint refused the connection.
        self.assertEqual((failed["status"], failed["response_flags"], failed["route"]),
                         (502, "UF", "default/dead/0"))
        self.assertTrue(failed["upstream"].startswith("127.0.0.1:"), failed)
        self.assertIsNone(failed["upstream_duration_ms"])  # no request was ever sent
        for e in (ok, denied, failed):
            self.assertEqual(e["trace_id"], "")  # tracing is off
            self.assertEqual((e["lua_errors"], e["lua_error"]), (0, ""))

    def test_json_line_of_a_rate_limited_exchange(self):
        self.start("json")
        # The limit is per worker share: with 2 workers, at most 2 pass in all.
        statuses = [get(self.port, f"/rl/{i}", {"Host": "limited.test"}) for i in range(5)]
        self.assertEqual(statuses.count(200), 2, statuses)
        entries = [json.loads(line) for line in self.lines(n=5)]
        limited = [e for e in entries if e["status"] == 429]
        self.assertEqual(len(limited), 3, entries)
        for e in limited:
            self.assertEqual((e["response_flags"], e["route"], e["authority"]),
                             ("RL", "default/limited/0", "limited.test"))
            self.assertTrue(e["path"].startswith("/rl/"), e)
            self.assertEqual(e["upstream"], "")  # never went upstream
            self.assertIsNone(e["upstream_duration_ms"])
            self.assertRegex(e["request_id"], UUID4)
            self.assertGreater(e["bytes_out"], 0)
        passed = [e for e in entries if e["status"] == 200]
        self.assertEqual([e["response_flags"] for e in passed], ["-", "-"])

    def test_text_format_and_reopen_on_sigusr1(self):
        self.start("text")
        get(self.port, "/first")
        (line,) = self.lines()
        self.assertIn("GET", line)
        self.assertIn("/first", line)
        self.assertIn(" 200 ", line)
        os.rename(self.path, self.path + ".1")
        self.gh.proc.send_signal(signal.SIGUSR1)
        # Lines may still go to the renamed file until the writer reopens; then the new one.
        wait_for(lambda: get(self.port, "/second") == 200 and os.path.exists(self.path), 5,
                 what="a new access.log after SIGUSR1")
        self.assertTrue(any("/second" in l for l in self.lines()))
        self.assertIn("gatehouse_access_log_dropped_total 0", "\n".join(
            f"{k} {int(v)}" for k, v in self.gh.metrics().items()))


class StalledSinkTest(unittest.TestCase):
    """A FIFO nobody reads: the writer thread blocks on it, the workers' rings fill, and further
    lines are dropped and counted while every request is still answered."""

    def test_stalled_sink_drops_and_counts_without_failing_traffic(self):
        upstream = Upstream("u1")
        port = free_port()
        gh = Gatehouse(workers=1)
        fifo = os.path.join(gh.data_dir, "access.fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # held open, never read (yet)
        try:
            gh.apply(simple_config(port, [upstream.port]))
            gh.start("--access-log", fifo, "--access-log-format", "json")
            self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
            # Long lines (a 4 KiB user agent) fill the 1 MiB ring and the pipe in a few
            # hundred requests.
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            statuses = []
            for i in range(1500):
                c.request("GET", f"/r{i}", headers={"Host": "shop.test",
                                                    "User-Agent": "ua-" + "x" * 4096})
                r = c.getresponse()
                r.read()
                statuses.append(r.status)
            c.close()
            self.assertEqual(statuses, [200] * 1500)
            m = gh.metrics()
            dropped = m["gatehouse_access_log_dropped_total"]
            self.assertGreater(dropped, 0)
            self.assertLess(dropped, 1500)
            # Draining the FIFO now: what was queued arrives whole, one JSON object per line.
            data = b""
            def drain():
                nonlocal data
                try:
                    while True:
                        d = os.read(reader, 1 << 20)
                        if not d:
                            break
                        data += d
                except BlockingIOError:
                    pass
                return data.count(b"\n") + dropped >= 1500
            wait_for(drain, 10, what="the queued lines through the FIFO")
            lines = data.decode().splitlines()
            self.assertEqual(len(lines) + dropped, 1500)
            for line in lines:
                self.assertEqual(json.loads(line)["status"], 200)
            self.assertEqual(gh.metrics()["gatehouse_access_log_lines_total"], len(lines))
        finally:
            gh.cleanup()
            os.close(reader)
            upstream.stop()


class AccessLogOffTest(unittest.TestCase):
    def test_off_by_default(self):
        upstream = Upstream("u1")
        port = free_port()
        gh = Gatehouse(workers=1)
        try:
            gh.apply(simple_config(port, [upstream.port]))
            gh.start()
            self.assertEqual(get(port, "/"), 200)
            self.assertNotIn("gatehouse_access_log_dropped_total", gh.metrics())
        finally:
            gh.cleanup()
            upstream.stop()


if __name__ == "__main__":
    unittest.main()
