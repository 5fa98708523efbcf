"""The access log (gatehouse run --access-log, docs/observability.md): one line per exchange —
proxied, answered locally, denied by authorization — in JSON or text; the authorization
decision names the policy and rule; SIGUSR1 reopens the file for log rotation."""

import http.client
import json
import os
import signal
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


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": "shop.test", **(headers or {})})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


class AccessLogTest(unittest.TestCase):
    def start(self, fmt):
        self.upstream = Upstream("u1")
        self.port = free_port()
        self.gh = Gatehouse(workers=2)
        self.path = os.path.join(self.gh.data_dir, "access.log")
        self.gh.apply(simple_config(self.port, [self.upstream.port], extra=POLICY))
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
