"""`gatehouse validate` as CI runs it: --baseline compliance rules and the built-in lint,
findings with file:line:column in text and JSON, and the exit codes (0 valid, warnings
allowed; 1 a problem or an error-level finding; 2 usage or a bad baseline file).

`validate --stored` (the active stored version, checked as `gatehouse run` loads it) is at the
end (ValidateStoredTest).

The rules of examples/baseline.yaml are exercised here end to end, each with a passing and a
failing configuration; the lint rules in detail are unit tests
(tests/unit/config/baseline_test.cc)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, ROOT

EXAMPLE_BASELINE = os.path.join(ROOT, "examples", "baseline.yaml")
EXAMPLE_EDGE = os.path.join(ROOT, "examples", "edge")


def validate(*args, stdin=None):
    return subprocess.run([BINARY, "validate", *args], capture_output=True, text=True,
                          timeout=30, input=stdin)


def loc_of(text, needle, occurrence=1):
    """(line, column), 1-based, of the n-th occurrence of `needle` in `text`."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def listener(name, ns="production", address="127.0.0.1", port=8080):
    addr = f"  address: {address}\n" if address is not None else ""
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: {name}, namespace: {ns}}}
spec:
{addr}  port: {port}
"""


def service(name, ns="production", team="shop"):
    labels = f", labels: {{team: {team}}}" if team else ""
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: {name}, namespace: {ns}{labels}}}
spec:
  directResponse: {{status: 200}}
"""


def route(name, parent, backend, ns="production", timeouts="{request: 10s}"):
    t = f"      timeouts: {timeouts}\n" if timeouts else ""
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{{name: {parent}}}]
  rules:
    - backendRefs: [{{name: {backend}}}]
{t}"""


GOOD = listener("public") + service("app") + route("r", "public", "app")


class ValidateBaselineTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-validate-baseline-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, text, *extra, baseline=EXAMPLE_BASELINE, name="c.yaml"):
        """validate --format json on `text`; returns (returncode, parsed output, path)."""
        path = self.write(name, text)
        args = ["-f", path, "--format", "json", *extra]
        if baseline:
            args += ["--baseline", baseline]
        r = validate(*args)
        self.assertEqual(r.stderr, "", "JSON mode writes everything to stdout")
        return r.returncode, json.loads(r.stdout), path

    def findings_of(self, out, rule):
        return [f for f in out["findings"] if f["rule"] == rule]

    # --- the shipped example ------------------------------------------------------------

    def test_example_edge_passes_example_baseline(self):
        r = validate("-f", EXAMPLE_EDGE, "--baseline", EXAMPLE_BASELINE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertEqual(r.stdout, "valid: 4 resources\n")
        r = validate("-f", EXAMPLE_EDGE, "--baseline", EXAMPLE_BASELINE, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout),
                         {"valid": True, "resources": 4, "findings": [], "problems": []})

    def test_good_configuration_passes(self):
        rc, out, _ = self.check(GOOD)
        self.assertEqual(rc, 0, out)
        self.assertEqual((out["valid"], out["resources"], out["findings"]), (True, 3, []))

    # --- each rule of the example that today's kinds reach ------------------------------

    def test_production_listeners_not_wildcard(self):
        text = (listener("any", address=None) + listener("v6", address='"::"', port=8081)
                + listener("ok", address="10.0.0.1", port=8082)
                + listener("staging", ns="staging", address="0.0.0.0", port=8083)
                + service("app") + route("r1", "any", "app") + route("r2", "v6", "app")
                + route("r3", "ok", "app") + route("r4", "staging", "app", ns="staging")
                + service("app", ns="staging"))
        rc, out, path = self.check(text)
        self.assertEqual(rc, 1)
        self.assertFalse(out["valid"])
        found = self.findings_of(out, "production-listeners-not-wildcard")
        self.assertEqual([f["name"] for f in found], ["any", "v6"])
        # An address left out is shown where the address would go: the spec mapping.
        line, col = loc_of(text, "port: 8080")
        self.assertEqual((found[0]["line"], found[0]["column"]), (line, col))
        self.assertIn("not set; defaults to 0.0.0.0", found[0]["message"])
        line, col = loc_of(text, '"::"')
        self.assertEqual((found[1]["line"], found[1]["column"]), (line, col))
        self.assertEqual(found[1]["path"], "spec.address")

    def test_route_rules_set_request_timeout(self):
        text = (listener("public") + service("app")
                + route("r", "public", "app", timeouts="{backendRequest: 1s}"))
        rc, out, path = self.check(text)
        self.assertEqual(rc, 1)
        (f,) = self.findings_of(out, "route-rules-set-request-timeout")
        line, col = loc_of(text, "- backendRefs")
        self.assertEqual(f, {"severity": "error", "rule": "route-rules-set-request-timeout",
                             "kind": "HTTPRoute", "namespace": "production", "name": "r",
                             "path": "spec.rules[0]", "file": path, "line": line,
                             "column": col + 2,
                             "message": "this rule sets no timeouts.request (write e.g. "
                                        "`timeouts: {request: 30s}`)"})

    def test_request_timeout_at_most_60s_is_a_warning(self):
        text = (listener("public") + service("app")
                + route("r", "public", "app", timeouts="{request: 5m}"))
        rc, out, _ = self.check(text)
        self.assertEqual(rc, 0, "a warning does not fail")
        self.assertTrue(out["valid"])
        (f,) = self.findings_of(out, "route-request-timeout-at-most-60s")
        self.assertEqual((f["severity"], f["path"]),
                         ("warning", "spec.rules[0].timeouts.request"))
        line, col = loc_of(text, "5m")
        self.assertEqual((f["line"], f["column"]), (line, col))

    def test_listener_has_routes(self):
        text = (listener("public") + listener("spare", port=8081) + service("app")
                + route("r", "public", "app"))
        rc, out, _ = self.check(text)
        self.assertEqual(rc, 0)
        (f,) = self.findings_of(out, "listener-has-routes")
        self.assertEqual((f["severity"], f["name"], f["path"]), ("warning", "spare", ""))
        # At the resource's start: the line after the `---` that opens it.
        self.assertEqual((f["line"], f["column"]), (loc_of(text, "kind: Listener", 2)[0] - 1, 1))
        # A route in another namespace names the listener with parentRefs[].namespace.
        text = (listener("public", ns="infra") + service("app")
                + route("r", "public", "app").replace("{name: public}",
                                                       "{name: public, namespace: infra}"))
        rc, out, _ = self.check(text)
        self.assertEqual(self.findings_of(out, "listener-has-routes"), [])
        # Without the namespace it means the route's own namespace, so nothing names infra's.
        text = (listener("public", ns="infra") + listener("public", port=8081) + service("app")
                + route("r", "public", "app"))
        rc, out, _ = self.check(text)
        self.assertEqual([(f["namespace"], f["name"])
                          for f in self.findings_of(out, "listener-has-routes")],
                         [("infra", "public")])

    def test_services_have_owner_is_info(self):
        text = listener("public") + service("app", team=None) + route("r", "public", "app")
        rc, out, _ = self.check(text)
        self.assertEqual(rc, 0)
        (f,) = self.findings_of(out, "services-have-owner")
        self.assertEqual((f["severity"], f["path"], f["message"]),
                         ("info", "metadata.labels.team", "is required"))

    # --- text output and exit codes -----------------------------------------------------

    def test_text_output_one_line_per_finding(self):
        text = (listener("public", address="0.0.0.0") + service("app", team=None)
                + route("r", "public", "app", timeouts="{request: 2m}"))
        path = self.write("c.yaml", text)
        r = validate("-f", path, "--baseline", EXAMPLE_BASELINE)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        line, col = loc_of(text, "0.0.0.0")
        l2, c2 = loc_of(text, "2m")
        l3, c3 = loc_of(text, "{name: app")
        self.assertEqual(r.stderr.splitlines(), [
            f"gatehouse: {path}:{line}:{col}: error: production-listeners-not-wildcard: "
            f"Listener production/public: spec.address: must not be one of 0.0.0.0, :: "
            f"(is 0.0.0.0)",
            f"gatehouse: {path}:{l3}:{c3}: info: services-have-owner: Service production/app: "
            f"metadata.labels.team: is required",
            f"gatehouse: {path}:{l2}:{c2}: warning: route-request-timeout-at-most-60s: "
            f"HTTPRoute production/r: spec.rules[0].timeouts.request: a request timeout must "
            f"be between 1ms and 60s (0s turns the timeout off)",
        ])

    def test_warnings_pass_and_are_counted(self):
        text = (listener("public") + service("app", team=None)
                + route("r", "public", "app", timeouts="{request: 2m}"))
        path = self.write("c.yaml", text)
        r = validate("-f", path, "--baseline", EXAMPLE_BASELINE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "valid: 3 resources (1 warning, 1 info)\n")
        self.assertEqual(len(r.stderr.splitlines()), 2)

    def test_severity_decides_the_exit_code(self):
        rule = """apiVersion: gatehouse.dev/v1
kind: Baseline
rules:
  - name: team-label
    severity: {sev}
    select: {{kinds: [Service]}}
    require: [{{path: metadata.labels.team, exists: true}}]
"""
        text = listener("public") + service("app", team=None) + route("r", "public", "app")
        for sev, code in (("error", 1), ("warning", 0), ("info", 0)):
            b = self.write(f"b-{sev}.yaml", rule.format(sev=sev))
            rc, out, _ = self.check(text, baseline=b)
            self.assertEqual(rc, code, sev)
            self.assertEqual(out["valid"], code == 0)
            self.assertEqual([f["severity"] for f in out["findings"]], [sev])

    def test_problems_and_findings_together(self):
        # The decoder refuses the bad Service; the policy checks still run on the rest.
        text = (listener("public", address="0.0.0.0") + route("r", "public", "app")
                + service("app").replace("status: 200", "status: 99"))
        rc, out, path = self.check(text)
        self.assertEqual(rc, 1)
        self.assertFalse(out["valid"])
        self.assertEqual(out["resources"], 0)
        (p,) = out["problems"]
        self.assertEqual(set(p), {"file", "line", "column", "message"})
        self.assertEqual((p["file"], p["line"]), (path, loc_of(text, "99")[0]))
        self.assertEqual([f["rule"] for f in out["findings"]],
                         ["production-listeners-not-wildcard"])

    def test_policies_are_linted_and_checked(self):
        # AuthorizationPolicy decodes (issue 5), so the lint and the baseline's policy rules
        # see real policies: an ALLOW policy without rules allows nothing (a warning), and a
        # "*" principal in production breaks the example baseline (an error).
        text = GOOD + """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: production}
spec: {action: ALLOW}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: anyone, namespace: production}
spec:
  rules: [{from: [{source: {principals: ["*"]}}]}]
"""
        rc, out, _ = self.check(text)
        self.assertEqual(rc, 1)
        self.assertEqual(out["problems"], [])
        found = [(f["rule"], f["severity"], f["name"]) for f in out["findings"]]
        self.assertEqual(found, [
            ("authz-allow-nothing", "warning", "allow-nothing"),
            ("no-wildcard-principal-in-production", "error", "anyone"),
        ])
        star = out["findings"][1]
        self.assertEqual((star["line"], star["column"]), loc_of(text, '"*"'))

    def test_bad_policies_are_problems_not_findings(self):
        text = GOOD + """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt, namespace: production}
spec:
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]
"""
        rc, out, _ = self.check(text)
        self.assertEqual(rc, 1)
        (p,) = out["problems"]
        self.assertIn("needs JWT (RequestAuthentication), which is not supported yet",
                      p["message"])
        self.assertEqual((p["line"], p["column"]), loc_of(text, '["*"]'))
        self.assertEqual(out["findings"], [])

    def test_mesh_kinds_are_checked(self):
        # A Workload decodes, so the rules about it apply: it has no ALLOW policy, and a
        # configuration with Workloads needs MeshConfig default with mtls STRICT (left out,
        # mtls is STRICT).
        workload = """---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, namespace: production}
spec: {serviceAccount: orders, address: 127.0.0.1, port: 8080}
"""
        rc, out, _ = self.check(GOOD + workload)
        self.assertEqual(rc, 1)
        self.assertEqual(out["problems"], [])
        self.assertEqual(sorted(f["rule"] for f in out["findings"]),
                         ["mesh-mtls-strict", "workload-has-allow-policy"])
        mesh = """---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {}
"""
        rc, out, _ = self.check(GOOD + workload + mesh)
        self.assertEqual([f["rule"] for f in out["findings"]], ["workload-has-allow-policy"])

    def test_json_without_baseline_has_findings_key(self):
        rc, out, _ = self.check(GOOD, baseline=None)
        self.assertEqual(rc, 0)
        self.assertEqual(out, {"valid": True, "resources": 3, "findings": [], "problems": []})

    def test_positions_across_files_and_stdin(self):
        a = self.write("conf/a.yaml", listener("public", address="0.0.0.0") + service("app"))
        piped = route("r", "public", "app", timeouts=None)
        r = validate("-f", os.path.join(self.dir, "conf"), "-f", "-", "--baseline",
                     EXAMPLE_BASELINE, "--format", "json", stdin=piped)
        self.assertEqual(r.returncode, 1, r.stdout)
        out = json.loads(r.stdout)
        files = [(f["rule"], f["file"]) for f in out["findings"]]
        self.assertEqual(files, [("production-listeners-not-wildcard", a),
                                 ("route-rules-set-request-timeout", "-")])
        stdin_finding = out["findings"][1]
        line, col = loc_of(piped, "backendRefs")  # the rules[0] mapping starts there
        self.assertEqual((stdin_finding["line"], stdin_finding["column"]), (line, col))

    # --- the baseline file itself -------------------------------------------------------

    def test_bad_baseline_exits_2_with_positions(self):
        text = """apiVersion: gatehouse.dev/v1
kind: Baseline
rules:
  - name: r
    severity: fatal
    select: {kinds: [Listener]}
    forbidd: [{path: spec.port, equals: 80}]
"""
        b = self.write("b.yaml", text)
        c = self.write("c.yaml", GOOD)
        r = validate("-f", c, "--baseline", b)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        line, col = loc_of(text, "fatal")
        self.assertIn(f"gatehouse: {b}:{line}:{col}: baseline: rules[0].severity: must be one "
                      f"of error, warning or info", lines)
        line, col = loc_of(text, "forbidd")
        self.assertIn(f"gatehouse: {b}:{line}:{col}: baseline: rules[0].forbidd: unknown field",
                      lines)
        # JSON mode reports them as problems, still with exit 2.
        r = validate("-f", c, "--baseline", b, "--format", "json")
        self.assertEqual(r.returncode, 2)
        out = json.loads(r.stdout)
        self.assertFalse(out["valid"])
        self.assertTrue(all(p["file"] == b for p in out["problems"]))
        self.assertGreaterEqual(len(out["problems"]), 2)

    def test_missing_baseline_exits_2(self):
        c = self.write("c.yaml", GOOD)
        r = validate("-f", c, "--baseline", os.path.join(self.dir, "nope.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.yaml: cannot open", r.stderr)
        r = validate("-f", c, "--baseline")
        self.assertEqual(r.returncode, 2)

    def test_lint_settings_in_a_baseline(self):
        b = self.write("b.yaml", """apiVersion: gatehouse.dev/v1
kind: Baseline
lint:
  authz-allow-nothing: error
  authz-unknown-trust-domain: "off"
""")
        rc, out, _ = self.check(GOOD, baseline=b)
        self.assertEqual(rc, 0)
        self.assertEqual(out["findings"], [])

    def test_help_mentions_baseline(self):
        r = validate("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--baseline FILE", r.stdout)


# --- validate --stored ------------------------------------------------------------------------

EDGE_STORED = """apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: web}
spec: {address: 127.0.0.1, port: 18480}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: app}
spec:
  directResponse: {status: 200}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  parentRefs: [{name: web}]
  rules: [{backendRefs: [{name: app}]}]
"""

MESH_STORED = """apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, labels: {app: orders}}
spec: {serviceAccount: orders, address: 127.0.0.1, port: 18481}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: inbound}
spec: {address: 127.0.0.1, port: 18482, protocol: MESH_INBOUND}
"""


class ValidateStoredTest(unittest.TestCase):
    """`validate --stored`: the active stored version checked as `gatehouse run` loads it at
    start (decode, validate, compile with the node's identity); the unit's ExecStartPre."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-validate-stored-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def gh(self, *args):
        return subprocess.run([BINARY, *args, "--data-dir", self.data], capture_output=True,
                              text=True, timeout=60)

    def apply(self, text):
        path = os.path.join(self.dir, "c.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = self.gh("apply", "-f", path)
        self.assertEqual(r.returncode, 0, r.stderr)

    def stored(self, *extra):
        return validate("--stored", "--data-dir", self.data, *extra)

    def test_first_start_without_a_database_passes(self):
        r = self.stored()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no stored configuration", r.stdout)
        self.assertFalse(os.path.exists(self.data), "validate --stored writes nothing")
        r = self.stored("--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["valid"], True)

    def test_data_dir_from_the_environment(self):
        self.apply(EDGE_STORED)
        r = subprocess.run([BINARY, "validate", "--stored"], capture_output=True, text=True,
                           timeout=30, env={**os.environ, "GATEHOUSE_DATA_DIR": self.data})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid: version 1 (3 resources)", r.stdout)

    def test_a_valid_version_passes(self):
        self.apply(EDGE_STORED)
        r = self.stored()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn("valid: version 1 (3 resources) decodes, validates and compiles", r.stdout)
        r = self.stored("--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["valid"], out["resources"], out["problems"]), (True, 3, []))

    def test_a_stored_resource_that_no_longer_validates_is_located(self):
        # A version written by another build (or by hand): the Listener's port out of range.
        self.apply(EDGE_STORED)
        import sqlite3
        db = sqlite3.connect(os.path.join(self.data, "config.db"))
        with db:
            n = db.execute("UPDATE bodies SET body = replace(body, '18480', '99999') "
                           "WHERE body LIKE '%18480%'").rowcount
        db.close()
        self.assertEqual(n, 1)
        r = self.stored()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stderr, r"^gatehouse: version 1:Listener/default/web:\d+:\d+: ")
        self.assertIn("port", r.stderr)
        r = self.stored("--format", "json")
        self.assertEqual(r.returncode, 1)
        out = json.loads(r.stdout)
        self.assertFalse(out["valid"])
        self.assertEqual(out["problems"][0]["file"], "version 1:Listener/default/web")
        self.assertGreater(out["problems"][0]["line"], 0)

    def test_mesh_without_identity_is_refused_as_run_would(self):
        self.apply(MESH_STORED)
        r = self.stored()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("gatehouse: version 1: ", r.stderr)
        self.assertIn("no workload identity", r.stderr)
        self.assertIn("gatehouse join", r.stderr)

    def test_mesh_on_the_ca_node_without_identity_says_what_is_not_checked(self):
        r = self.gh("ca", "init")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.apply(MESH_STORED)
        r = self.stored()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("identity and compile not checked", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.data, "identity", "workload.crt")),
                         "validate --stored does not issue the identity `run` would")

    def test_mesh_with_identity_compiles_and_checks_the_trust_domain(self):
        for args in (("ca", "init"), ("cert", "issue", "--workload", "orders")):
            r = self.gh(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.apply(MESH_STORED)
        r = self.stored()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("identity spiffe://cluster.local/ns/default/sa/orders", r.stdout)
        # A MeshConfig of another trust domain: `run` would refuse to start with this identity.
        self.apply(MESH_STORED + """---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: other.example}
""")
        r = self.stored()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("gatehouse: version 2: ", r.stderr)
        self.assertIn("not in the mesh's trust domain other.example", r.stderr)

    def test_usage(self):
        r = validate("--stored", "-f", EXAMPLE_EDGE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("-f and --baseline are for files", r.stderr)
        r = validate("-f", EXAMPLE_EDGE, "--data-dir", self.data)
        self.assertEqual(r.returncode, 2)
        self.assertIn("only with --stored", r.stderr)
        r = validate("--help")
        self.assertIn("--stored", r.stdout)


if __name__ == "__main__":
    unittest.main()
