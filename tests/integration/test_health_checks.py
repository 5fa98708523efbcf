"""Active HTTP health checks (Service spec.healthCheck, issue 6, docs/traffic.md): an endpoint
whose /healthz starts failing is taken out after unhealthyThreshold probes and traffic keeps
flowing with no 5xx; it comes back after healthyThreshold passing probes; with none left the
answer is 503 no_healthy_upstream; health survives a reload; the decoder refuses what is not
wired."""

import collections
import http.client
import os
import subprocess
import unittest

import harness
from harness import BINARY, Gatehouse, Upstream, free_port, wait_for


class CheckedUpstream(Upstream):
    """An Upstream whose /healthz answers 200 or 503 on command (`healthy`), and that counts
    probes apart from real requests."""

    def __init__(self, name, port=None):
        self.healthy = True
        self.probes = 0
        if port is None:
            super().__init__(name)
            return
        original = harness.free_port
        harness.free_port = lambda: port
        try:
            super().__init__(name)
        finally:
            harness.free_port = original

    def _respond(self, conn, req):
        if req.target == "/healthz":
            with self.lock:
                self.probes += 1
                self.requests.pop()  # probes are not traffic
            code = 200 if self.healthy else 503
            conn.sendall(f"HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n".encode())
            return True
        return super()._respond(conn, req)


def config(port, upstreams, extra=""):
    eps = ", ".join(f"{{address: 127.0.0.1, port: {u.port}}}" for u in upstreams)
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec:
  endpoints: [{eps}]
  healthCheck: {{path: /healthz, interval: 100ms, timeout: 500ms, healthyThreshold: 2,
                 unhealthyThreshold: 2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: app}}]}}]
{extra}"""


class HealthCheckTest(unittest.TestCase):
    def setUp(self):
        self.upstreams = [CheckedUpstream(f"u{i}") for i in range(3)]
        self.port = free_port()
        self.gh = Gatehouse(workers=2)
        self.gh.apply(config(self.port, self.upstreams))
        self.gh.start()
        # Every endpoint has been probed at least once.
        wait_for(lambda: all(u.probes >= 1 for u in self.upstreams), what="first probes")

    def tearDown(self):
        self.gh.cleanup()
        for u in self.upstreams:
            u.stop()

    def get(self, n, conn=None):
        out = []
        for _ in range(n):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                c.request("GET", "/", headers={"Host": "x"})
                r = c.getresponse()
                r.read()
                out.append((r.status, r.getheader("x-upstream"), r.getheader("x-gatehouse-reason")))
            finally:
                c.close()
        return out

    def metric(self, name):
        return self.gh.metrics().get(name, 0)

    def test_failing_endpoint_is_taken_out_and_comes_back(self):
        self.assertEqual({who for _, who, _ in self.get(30)}, {"u0", "u1", "u2"})
        u1 = self.upstreams[1]
        u1.healthy = False
        wait_for(lambda: self.metric(
            'gatehouse_upstream_health_transitions_total{to="unhealthy"}') >= 1,
            what="u1 unhealthy")
        before = u1.count()
        results = self.get(60)
        self.assertEqual(u1.count(), before, "an unhealthy endpoint got traffic")
        self.assertTrue(all(s == 200 for s, _, _ in results), results)
        # Now it dies for real: the balancer already skips it, so no request fails.
        u1.stop()
        results = self.get(60)
        self.assertTrue(all(s == 200 for s, _, _ in results), results)
        self.assertEqual({who for _, who, _ in results}, {"u0", "u2"})
        # It comes back on the same port; after healthyThreshold (2) passing probes in a row it
        # takes traffic again, and not before.
        # (A stopped Upstream's socket lingers until its accept thread wakes: retry the bind.)
        def revive():
            try:
                return CheckedUpstream("u1-back", port=u1.port)
            except OSError:
                return None
        back = wait_for(revive, what="the port of u1 free again")
        self.upstreams[1] = back
        # (Keep-alive connections the pool made to u1 before may still be answered by the old
        # process object, hence either name.)
        wait_for(lambda: {"u1", "u1-back"} & {who for _, who, _ in self.get(6)}, what="u1 back")
        with back.lock:
            probes_before_traffic = back.probes
        self.assertGreaterEqual(probes_before_traffic, 2)
        m = self.gh.metrics()
        self.assertGreaterEqual(m['gatehouse_upstream_health_transitions_total{to="healthy"}'], 1)
        self.assertGreaterEqual(m['gatehouse_upstream_health_checks_total{result="fail"}'], 2)
        self.assertGreaterEqual(m['gatehouse_upstream_health_checks_total{result="pass"}'], 3)

    def test_none_healthy_is_503_no_healthy_upstream(self):
        for u in self.upstreams:
            u.healthy = False
        wait_for(lambda: self.metric(
            'gatehouse_upstream_health_checked_endpoints{state="unhealthy"}') == 3,
            what="all unhealthy")
        counts = [u.count() for u in self.upstreams]
        results = self.get(10)
        self.assertEqual({(s, r) for s, _, r in results}, {(503, "no_healthy_upstream")})
        self.assertEqual([u.count() for u in self.upstreams], counts)
        self.upstreams[0].healthy = True
        wait_for(lambda: self.get(1)[0][0] == 200, what="u0 healthy again")
        self.assertEqual({who for _, who, _ in self.get(10)}, {"u0"})

    def test_health_is_kept_across_a_reload(self):
        u2 = self.upstreams[2]
        u2.healthy = False
        wait_for(lambda: self.metric(
            'gatehouse_upstream_health_checked_endpoints{state="unhealthy"}') == 1,
            what="u2 unhealthy")
        # Probes stop answering at all from now on: only carried state can keep u2 out.
        u2.stop()
        version = self.gh.config_version()
        self.gh.apply(config(self.port, self.upstreams, extra="""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: other}
spec:
  directResponse: {status: 200, body: other}
"""))
        self.gh.wait_version(version + 1)
        results = self.get(30)
        self.assertTrue(all(s == 200 for s, _, _ in results), results)
        self.assertEqual({who for _, who, _ in results}, {"u0", "u1"})


class HealthCheckValidationTest(unittest.TestCase):
    def check(self, spec):
        path = os.path.join(os.path.dirname(BINARY), f"hc-{free_port()}.yaml")
        with open(path, "w") as f:
            f.write("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
                    + spec)
        try:
            return subprocess.run([BINARY, "validate", "-f", path], capture_output=True,
                                  text=True, timeout=30)
        finally:
            os.unlink(path)

    def test_refusals_name_the_field(self):
        eps = "  endpoints: [{address: 127.0.0.1, port: 80}]\n"
        r = self.check(eps + "  healthCheck: {interval: 1s}\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.healthCheck.path: is required", r.stderr)
        r = self.check(eps + "  healthCheck: {path: healthz}\n")
        self.assertIn("spec.healthCheck.path: must be an origin-form path", r.stderr)
        r = self.check(eps + "  healthCheck: {path: /h, unhealthyThreshold: 0}\n")
        self.assertIn("spec.healthCheck.unhealthyThreshold", r.stderr)
        r = self.check(eps + "  mesh: true\n  healthCheck: {path: /h}\n")
        self.assertIn("spec.healthCheck: is not supported yet on mesh Services", r.stderr)
        r = self.check(eps + "  healthCheck: {path: /h, interval: 2s, timeout: 1s, "
                             "healthyThreshold: 1, unhealthyThreshold: 5}\n")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()


class ClustersHealthTest(unittest.TestCase):
    """The admin's /api/v1/clusters reports what the prober decided per endpoint (the UI's
    Services table shows it): healthy, unhealthy, or unchecked without spec.healthCheck."""

    def test_clusters_show_each_endpoints_health(self):
        from test_admin_api import PASSWORD, Client
        ups = [CheckedUpstream("c0"), CheckedUpstream("c1")]
        ups[1].healthy = False
        port = free_port()
        gh = Gatehouse(workers=1)
        try:
            gh.apply(config(port, ups, extra="""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: plain}
spec: {endpoints: [{address: 127.0.0.1, port: 9}]}
"""))
            gh.start()
            initial = open(os.path.join(gh.data_dir, "initial-admin-password")).read().strip()
            admin = Client(gh.admin_port)
            self.assertEqual(admin.login("admin", initial)[0], 200)
            self.assertEqual(admin.api("POST", "password",
                                       {"current": initial, "new": PASSWORD})[0], 200)

            def health():
                status, c = admin.api("GET", "clusters")
                self.assertEqual(status, 200, c)
                svc = {s["name"]: s for s in c["services"]}
                return ({e["address"]: e["health"] for e in svc["default/app"]["endpoints"]},
                        svc["default/app"]["healthCheck"], svc["default/plain"])

            want = {f"127.0.0.1:{ups[0].port}": "healthy", f"127.0.0.1:{ups[1].port}": "unhealthy"}
            wait_for(lambda: health()[0] == want, what="c1 unhealthy in /clusters")
            _, check, plain = health()
            self.assertEqual(check, {"path": "/healthz"})
            self.assertIsNone(plain["healthCheck"])
            self.assertEqual(plain["endpoints"][0]["health"], "unchecked")
            ups[1].healthy = True
            wait_for(lambda: set(health()[0].values()) == {"healthy"}, what="c1 healthy again")
        finally:
            gh.cleanup()
            for u in ups:
                u.stop()
