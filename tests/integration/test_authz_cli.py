"""`gatehouse authz explain` and `gatehouse authz replay` with the real binary: the decision
and the deciding policy/rule, exit codes (explain: 0 allowed, 1 denied; replay: 1 when a
decision changes), the active stored version as the default configuration, -f files, and
--baseline-policies."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY

BASE = """apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders-service}}
spec: {serviceAccount: orders, port: 9000}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: public, namespace: production}
spec: {port: 18443}
"""

# The brief's example (spec/authz.md), verbatim.
BRIEF = """apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: allow-frontend-to-orders
  namespace: production
spec:
  selector:
    matchLabels:
      app: orders-service
  rules:
    - from:
        - source:
            principals: ["frontend@cluster.local"]
      to:
        - operation:
            methods: ["GET", "POST"]
"""

BLOCK_ADMIN = """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: block-admin, namespace: production}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
"""

FRONTEND = "spiffe://cluster.local/ns/production/sa/frontend"
BILLING = "cluster.local/ns/billing/sa/billing"  # the Istio form is accepted too


def gh(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)


class AuthzCliTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-authz-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def apply(self, text):
        path = self.write("apply.yaml", text)
        r = gh("apply", "-f", path, "--data-dir", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)

    def explain(self, *args):
        return gh("authz", "explain", "--data-dir", self.data, *args)

    # --- explain ------------------------------------------------------------------------

    def test_explain_the_briefs_example_from_the_stored_version(self):
        self.apply(BASE + "---\n" + BRIEF)
        r = self.explain("--method", "GET", "--path", "/orders", "--principal", FRONTEND,
                         "--workload", "orders")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ALLOW", r.stdout.splitlines()[0])
        self.assertIn("allowed by ALLOW policy production/allow-frontend-to-orders rule 0",
                      r.stdout)
        self.assertIn("to Workload production/orders", r.stdout)

        r = self.explain("--method", "DELETE", "--path", "/orders", "--principal", FRONTEND,
                         "--workload", "orders", "--namespace", "production")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines()[0], "DENY")
        self.assertIn("denied: no ALLOW matched", r.stdout)

        r = self.explain("--path", "/orders", "--principal", BILLING, "--workload", "orders")
        self.assertEqual(r.returncode, 1)
        self.assertIn("denied: no ALLOW matched", r.stdout)

        # No --principal: a plaintext request has no principal.
        r = self.explain("--path", "/orders", "--workload", "orders")
        self.assertEqual(r.returncode, 1)
        self.assertIn("from (no peer)", r.stdout)

    def test_explain_with_files_deny_before_allow_and_headers(self):
        cfg = self.write("cfg/base.yaml", BASE)
        self.write("cfg/brief.yaml", BRIEF)
        self.write("cfg/deny.yaml", BLOCK_ADMIN)
        r = gh("authz", "explain", "-f", os.path.join(self.dir, "cfg"), "--path", "/admin/x",
               "--principal", FRONTEND, "--workload", "orders")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("denied by DENY policy production/block-admin rule 0", r.stdout)
        self.assertIn("policies: production/allow-frontend-to-orders (ALLOW), "
                      "production/block-admin (DENY)", r.stdout)
        self.assertTrue(os.path.exists(cfg))

        self.write("cfg/tenant.yaml", """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tenant, namespace: production}
spec:
  rules: [{when: [{key: "request.headers[x-tenant]", values: [acme]}]}]
""")
        args = ["authz", "explain", "-f", os.path.join(self.dir, "cfg"), "--path", "/x",
                "--method", "PUT", "--workload", "orders"]
        self.assertEqual(gh(*args).returncode, 1)
        r = gh(*args, "--header", "X-Tenant: acme")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("allowed by ALLOW policy production/tenant rule 0", r.stdout)

    def test_explain_at_an_edge_listener(self):
        self.apply(BASE + """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge, namespace: production}
spec:
  targetRefs: [{group: gatehouse.dev, kind: Listener, name: public}]
  action: DENY
  rules: [{from: [{source: {notRemoteIpBlocks: ["10.0.0.0/8"]}}]}]
""")
        r = self.explain("--listener", "public", "--path", "/", "--source-ip", "10.0.0.1",
                         "--remote-ip", "203.0.113.7")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("denied by DENY policy production/edge rule 0", r.stdout)
        self.assertIn("(port 18443) to Listener production/public", r.stdout)
        r = self.explain("--listener", "public", "--path", "/", "--source-ip", "10.0.0.1")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("allowed: no ALLOW policy applies", r.stdout)

    def test_explain_usage_errors(self):
        self.apply(BASE)
        r = self.explain("--path", "/")
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs --workload W or --listener L", r.stderr)
        r = self.explain("--workload", "nobody")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no Workload nobody in the configuration", r.stderr)
        r = self.explain("--workload", "orders", "--principal", "not a principal")
        self.assertEqual(r.returncode, 2)
        r = self.explain("--workload", "orders", "--port", "70000")
        self.assertEqual(r.returncode, 2)
        r = gh("authz", "explain", "--workload", "orders", "--data-dir",
               os.path.join(self.dir, "missing"))
        self.assertEqual(r.returncode, 3)

    # --- replay -------------------------------------------------------------------------

    def requests(self, *lines):
        return self.write("requests.jsonl", "".join(json.dumps(l) + "\n" for l in lines))

    def test_replay_prints_the_requests_that_change(self):
        self.apply(BASE + "---\n" + BRIEF)
        reqs = self.requests(
            {"principal": FRONTEND, "namespace": "production", "workload": "orders",
             "method": "GET", "path": "/orders", "host": "orders", "port": 9000,
             "headers": {"x-request-id": "1"}, "source_ip": "10.0.0.9"},
            {"principal": FRONTEND, "namespace": "production", "method": "GET",
             "path": "/admin/users", "host": "orders", "port": 9000},
            {"principal": FRONTEND, "method": "DELETE", "path": "/orders/7"},
        )
        draft = os.path.join(self.dir, "draft")
        self.write("draft/brief.yaml", BRIEF)
        self.write("draft/deny.yaml", BLOCK_ADMIN)
        r = gh("authz", "replay", "--requests", reqs, "--policies", draft, "--data-dir", self.data)
        self.assertEqual(r.returncode, 1, r.stderr)
        out = r.stdout
        self.assertIn(f"{reqs}:2: now DENIED GET /admin/users host orders from {FRONTEND} "
                      "to Workload production/orders", out)
        self.assertIn("active: allowed by ALLOW policy production/allow-frontend-to-orders rule 0",
                      out)
        self.assertIn("draft:  denied by DENY policy production/block-admin rule 0", out)
        self.assertNotIn(f"{reqs}:1:", out)
        self.assertNotIn(f"{reqs}:3:", out)
        self.assertTrue(out.endswith("3 requests, 1 decision would change\n"), out)

        # The same draft as the active set: nothing changes.
        r = gh("authz", "replay", "--requests", reqs, "--policies", draft,
               "--baseline-policies", draft, "--data-dir", self.data)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout, "3 requests, 0 decisions would change\n")

        # --all prints every request.
        r = gh("authz", "replay", "--requests", reqs, "--policies", draft, "--all",
               "--data-dir", self.data)
        self.assertIn(f"{reqs}:3: unchanged DELETE /orders/7", r.stdout)

    def test_replay_with_files_and_an_empty_draft(self):
        cfg = self.write("cfg/all.yaml", BASE + "---\n" + BRIEF)
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty)
        reqs = self.requests({"principal": BILLING, "method": "GET", "path": "/"},
                             {"principal": FRONTEND, "method": "GET", "path": "/"})
        # Removing every policy allows billing, which was denied.
        r = gh("authz", "replay", "--requests", reqs, "--policies", empty, "-f", cfg)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{reqs}:1: now ALLOWED GET / from spiffe://{BILLING}", r.stdout)
        self.assertIn("active: denied: no ALLOW matched", r.stdout)
        self.assertIn("draft:  allowed: no ALLOW policy applies", r.stdout)
        self.assertTrue(r.stdout.endswith("2 requests, 1 decision would change\n"))

    def test_replay_refuses_bad_input(self):
        cfg = self.write("cfg/all.yaml", BASE)
        draft = os.path.join(self.dir, "draft")
        self.write("draft/not-a-policy.yaml", BASE)
        reqs = self.requests({"path": "/"})
        r = gh("authz", "replay", "--requests", reqs, "--policies", draft, "-f", cfg)
        self.assertEqual(r.returncode, 3)
        self.assertIn("only AuthorizationPolicies belong there", r.stderr)

        self.write("draft/not-a-policy.yaml", BRIEF)
        bad = self.write("bad.jsonl", '{"path": "/"}\nnot json\n')
        r = gh("authz", "replay", "--requests", bad, "--policies", draft, "-f", cfg)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{bad}:2:", r.stderr)

        self.write("draft/broken.yaml", """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: production}
spec: {rules: [{from: [{source: {ipBlocks: ["10.0.0.0/40"]}}]}]}
""")
        r = gh("authz", "replay", "--requests", reqs, "--policies", draft, "-f", cfg)
        self.assertEqual(r.returncode, 3)
        self.assertIn("has a prefix length above 32", r.stderr)

        r = gh("authz", "replay", "--requests", reqs)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
