"""The admin API (spec/admin.md) against the real binary: accounts, sessions, CSRF and Origin,
roles, login throttling, API tokens, resources with optimistic concurrency, validation,
versions, diff, rollback, the audit log, certificates, join tokens, stats and the embedded UI.
"""

import gzip
import http.client
import json
import os
import stat
import subprocess
import time
import unittest

from harness import BINARY, Gatehouse, free_port, wait_for

PASSWORD = "correct horse battery"


def start_gatehouse():
    """A server with the embedded default's shape on a free port (8080 may be taken)."""
    gh = Gatehouse(workers=1)
    gh.apply(f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: default}}
spec: {{address: 127.0.0.1, port: {free_port()}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: welcome}}
spec:
  directResponse: {{status: 200, body: "welcome"}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: welcome}}
spec:
  parentRefs: [{{name: default}}]
  rules:
    - backendRefs: [{{name: welcome}}]
""")
    return gh


class Client:
    """A browser-like client: keeps the session cookie, sends Origin and the CSRF token."""

    def __init__(self, port, origin=True, csrf=True):
        self.port = port
        self.cookie = None
        self.csrf = None
        self.send_origin = origin
        self.send_csrf = csrf
        self.bearer = None

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": f"127.0.0.1:{self.port}"}
        if self.send_origin:
            h["Origin"] = f"http://127.0.0.1:{self.port}"
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and self.send_csrf:
            h["X-CSRF-Token"] = self.csrf
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        cookie = hdrs.get("set-cookie")
        if cookie:
            value = cookie.split(";", 1)[0]
            self.cookie = value if value.split("=", 1)[1] else None
        if raw:
            return r.status, hdrs, payload
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return r.status, hdrs, parsed

    def api(self, method, path, body=None, **kw):
        status, _, parsed = self.request(method, "/api/v1/" + path, body, **kw)
        return status, parsed

    def login(self, user, password):
        status, body = self.api("POST", "login", {"user": user, "password": password})
        if status == 200:
            self.csrf = body["csrf"]
        return status, body


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gh = start_gatehouse()
        cls.gh.cli("ca", "init", check=True)  # as the embedded default has one
        cls.gh.start()
        cls.port = cls.gh.admin_port
        path = os.path.join(cls.gh.data_dir, "initial-admin-password")
        cls.initial = open(path).read().strip()
        admin = Client(cls.port)
        status, body = admin.login("admin", cls.initial)
        assert status == 200 and body["mustChangePassword"], (status, body)
        status, body = admin.api("POST", "password", {"current": cls.initial, "new": PASSWORD})
        assert status == 200, body
        cls.admin = admin
        for name, role in (("ed", "editor"), ("vi", "viewer")):
            status, body = admin.api("POST", "users", {"name": name, "role": role,
                                                        "password": PASSWORD})
            assert status == 201, body

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()

    def client(self, user="admin"):
        c = Client(self.port)
        status, body = c.login(user, PASSWORD)
        self.assertEqual(status, 200, body)
        return c

    def active(self, c):
        status, body = c.api("GET", "versions?limit=1")
        self.assertEqual(status, 200, body)
        return body["active"]

    # --- the first account -----------------------------------------------------------------

    def test_initial_password_file_is_removed_after_change_and_was_private(self):
        self.assertFalse(os.path.exists(os.path.join(self.gh.data_dir, "initial-admin-password")))
        self.assertIn("initial-admin-password", self.gh.logs())
        self.assertNotIn(self.initial, self.gh.logs())
        # The old one-time password no longer works.
        self.assertEqual(Client(self.port).login("admin", self.initial)[0], 401)

    def test_one_time_password_allows_nothing_but_a_change(self):
        gh = start_gatehouse()
        try:
            gh.start()
            path = os.path.join(gh.data_dir, "initial-admin-password")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            c = Client(gh.admin_port)
            self.assertEqual(c.login("admin", open(path).read().strip())[0], 200)
            status, body = c.api("GET", "resources")
            self.assertEqual(status, 403)
            self.assertTrue(body["passwordChangeRequired"])
            status, body = c.api("GET", "session")
            self.assertEqual(status, 200)
            self.assertTrue(body["mustChangePassword"])
        finally:
            gh.cleanup()

    # --- sessions, CSRF, Origin, roles ---------------------------------------------------

    def test_cookie_attributes(self):
        c = Client(self.port)
        status, hdrs, _ = c.request("POST", "/api/v1/login", {"user": "vi", "password": PASSWORD})
        self.assertEqual(status, 200)
        cookie = hdrs["set-cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("Path=/", cookie)
        # 128-bit ids: 16 bytes of base64url.
        self.assertEqual(len(cookie.split(";")[0].split("=", 1)[1]), 22)

    def test_new_session_id_at_every_login(self):
        a, b = self.client("vi"), self.client("vi")
        self.assertNotEqual(a.cookie, b.cookie)

    def test_every_changing_endpoint_refuses_without_csrf_wrong_origin_viewer_and_expired(self):
        base = self.active(self.admin)
        changes = [
            ("POST", "resources", {"version": base, "yaml": "x: 1"}),
            ("PUT", "resources/Service/default/welcome", {"version": base, "yaml": "x: 1"}),
            ("DELETE", "resources/Service/default/welcome", {"version": base}),
            ("POST", "rollback", {"to": 1, "version": base}),
            ("POST", "users", {"name": "zz", "role": "admin", "password": PASSWORD}),
            ("PUT", "users/vi", {"role": "admin"}),
            ("DELETE", "users/vi", None),
            ("POST", "tokens", {"name": "t", "role": "admin"}),
            ("DELETE", "tokens/0000000000000000", None),
            ("POST", "join-tokens", {"workload": "w"}),
            ("POST", "password", {"current": PASSWORD, "new": "x" * 12}),
            ("POST", "logout", None),
        ]
        for method, path, body in changes:
            with self.subTest(method=method, path=path):
                no_csrf = self.client("admin")
                no_csrf.send_csrf = False
                status, reply = no_csrf.api(method, path, body)
                self.assertEqual(status, 403, reply)
                self.assertIn("CSRF", reply["error"])

                wrong_origin = self.client("admin")
                status, reply = wrong_origin.api(method, path, body,
                                                 headers={"Origin": "http://evil.example"})
                self.assertEqual(status, 403, reply)
                self.assertIn("Origin", reply["error"])

                no_origin = self.client("admin")
                no_origin.send_origin = False
                self.assertEqual(no_origin.api(method, path, body)[0], 403)

                expired = Client(self.port)
                expired.cookie = "gh_session=AAAAAAAAAAAAAAAAAAAAAA"
                expired.csrf = "x"
                self.assertEqual(expired.api(method, path, body)[0], 401)

                if path not in ("password", "logout"):
                    viewer = self.client("vi")
                    status, reply = viewer.api(method, path, body)
                    self.assertEqual(status, 403, reply)
                    self.assertIn("role", reply["error"])
        self.assertEqual(self.active(self.admin), base)

    def test_logged_out_session_is_gone(self):
        c = self.client("vi")
        old = c.cookie
        self.assertEqual(c.api("POST", "logout")[0], 200)
        c.cookie = old
        self.assertEqual(c.api("GET", "session")[0], 401)

    def test_editor_cannot_manage_users_or_roll_back(self):
        ed = self.client("ed")
        self.assertEqual(ed.api("GET", "users")[0], 403)
        self.assertEqual(ed.api("POST", "rollback", {"to": 1, "version": self.active(ed)})[0], 403)

    def test_login_throttling_per_user(self):
        c = Client(self.port)
        status, _ = c.api("POST", "users", {})  # not logged in
        self.assertEqual(status, 401)
        admin = self.client("admin")
        self.assertEqual(admin.api("POST", "users", {"name": "throttled", "role": "viewer",
                                                      "password": PASSWORD})[0], 201)
        for _ in range(5):
            self.assertEqual(Client(self.port).login("throttled", "wrong password")[0], 401)
        status, hdrs, body = Client(self.port).request(
            "POST", "/api/v1/login", {"user": "throttled", "password": PASSWORD})
        self.assertEqual(status, 429, body)
        self.assertGreater(int(hdrs["retry-after"]), 0)
        # Other users are not locked out by it.
        self.assertEqual(Client(self.port).login("vi", PASSWORD)[0], 200)

    def test_passwords_never_returned_or_logged(self):
        status, body = self.admin.api("GET", "users")
        self.assertEqual(status, 200)
        text = json.dumps(body)
        self.assertNotIn("password_hash", text)
        self.assertNotIn("scrypt", text)
        self.assertNotIn(PASSWORD, text)
        self.assertNotIn(PASSWORD, self.gh.logs())
        status, audit = self.admin.api("GET", "audit?limit=500")
        self.assertNotIn(PASSWORD, json.dumps(audit))

    def test_passwords_are_scrypt_with_parameters(self):
        import sqlite3
        db = sqlite3.connect(os.path.join(self.gh.data_dir, "config.db"))
        try:
            rows = db.execute("SELECT password_hash FROM users").fetchall()
        finally:
            db.close()
        for (h,) in rows:
            parts = h.split("$")
            self.assertEqual(parts[0], "scrypt")
            self.assertGreaterEqual(int(parts[1]), 15)  # N >= 2^15

    def test_security_headers(self):
        for path in ("/", "/api/v1/session", "/app.js"):
            status, hdrs, _ = Client(self.port).request("GET", path, raw=True)
            csp = hdrs["content-security-policy"]
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertEqual(hdrs["x-content-type-options"], "nosniff")

    # --- API tokens ----------------------------------------------------------------------

    def test_api_token_for_ci(self):
        status, made = self.admin.api("POST", "tokens", {"name": "ci", "role": "editor"})
        self.assertEqual(status, 201, made)
        ci = Client(self.port, origin=False)
        ci.bearer = made["token"]
        status, body = ci.api("GET", "session")
        self.assertEqual((status, body["role"]), (200, "editor"))
        base = self.active(ci)
        doc = {"apiVersion": "gatehouse.dev/v1", "kind": "Service",
               "metadata": {"name": "ci-svc"}, "spec": {"endpoints": [{"address": "127.0.0.1",
                                                                        "port": 9}]}}
        status, body = ci.api("POST", "resources", {"version": base, "document": doc})
        self.assertEqual(status, 200, body)
        self.assertEqual(ci.api("GET", "users")[0], 403)  # scoped by its role
        # The token's secret is not listed, and a revoked token stops working.
        status, listed = self.admin.api("GET", "tokens")
        self.assertNotIn(made["token"].split("_")[-1], json.dumps(listed))
        self.assertEqual(self.admin.api("DELETE", "tokens/" + made["id"])[0], 200)
        self.assertEqual(ci.api("GET", "session")[0], 401)
        ci.bearer = made["token"][:-2] + "xx"
        self.assertEqual(ci.api("GET", "session")[0], 401)

    # --- configuration ------------------------------------------------------------------

    def test_replace_with_stale_version_is_409_and_audit_names_the_user(self):
        ed = self.client("ed")
        status, got = ed.api("GET", "resources/HTTPRoute/default/welcome")
        self.assertEqual(status, 200, got)
        base = got["version"]
        doc = got["document"]
        doc["spec"]["hostnames"] = ["welcome.example"]
        status, body = ed.api("PUT", "resources/HTTPRoute/default/welcome",
                              {"version": base, "document": doc, "message": "add a hostname"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["version"], base + 1)
        self.assertEqual(body["diff"]["changed"], 1)
        # Based on the old version again: someone else changed it first.
        doc["spec"]["hostnames"] = ["other.example"]
        status, body = ed.api("PUT", "resources/HTTPRoute/default/welcome",
                              {"version": base, "document": doc})
        self.assertEqual(status, 409, body)
        self.assertEqual(body["activeVersion"], base + 1)
        status, audit = self.admin.api("GET", "audit?limit=5")
        entry = next(e for e in audit["items"] if e["versionAfter"] == base + 1)
        self.assertEqual(entry["actor"], "ed")
        self.assertIn("admin api from 127.0.0.1", entry["source"])
        self.assertIn("HTTPRoute/default/welcome", entry["summary"])
        # The server applies it (the API's commit is seen like the CLI's).
        self.gh.wait_version(base + 1)
        # The CLI sees the same history: one code path, two doors.
        hist = self.gh.cli("history", check=True).stdout
        self.assertIn("add a hostname", hist)

    def test_invalid_document_gets_field_level_diagnostics_and_stores_nothing(self):
        ed = self.client("ed")
        status, got = ed.api("GET", "resources/HTTPRoute/default/welcome")
        base = got["version"]
        doc = got["document"]
        doc["spec"]["rules"][0]["backendRefs"] = [{"name": "welcome", "weight": -1}]
        status, body = ed.api("PUT", "resources/HTTPRoute/default/welcome",
                              {"version": base, "document": doc})
        self.assertEqual(status, 422, body)
        self.assertEqual(body["diagnostics"][0]["path"], "spec.rules[0].backendRefs[0].weight")
        doc["spec"]["rules"][0]["backendRefs"] = [{"name": "nosuch"}]
        status, body = ed.api("PUT", "resources/HTTPRoute/default/welcome",
                              {"version": base, "document": doc})
        self.assertEqual(status, 422, body)
        self.assertIn("does not exist", body["diagnostics"][0]["message"])
        self.assertEqual(self.active(ed), base)

    def test_validate_and_dry_run_store_nothing(self):
        ed = self.client("ed")
        base = self.active(ed)
        yaml = ("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: drafted}\n"
                "spec: {endpoints: [{address: 127.0.0.1, port: 1}]}\n")
        status, body = ed.api("POST", "validate", {"yaml": yaml})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["valid"])
        self.assertEqual(body["diff"]["created"], 1)
        status, body = ed.api("POST", "validate", {"yaml": yaml.replace("port: 1", "port: 0")})
        self.assertFalse(body["valid"])
        self.assertEqual(body["diagnostics"][0]["line"], 4)
        status, body = ed.api("POST", "resources", {"version": base, "yaml": yaml, "dryRun": True})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["dryRun"])
        self.assertEqual(self.active(ed), base)

    def test_create_delete_history_diff_and_rollback(self):
        ed = self.client("ed")
        base = self.active(ed)
        yaml = ("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: temp}\n"
                "spec: {endpoints: [{address: 127.0.0.1, port: 7}]}\n")
        status, body = ed.api("POST", "resources", {"version": base, "yaml": yaml})
        self.assertEqual(status, 200, body)
        created = body["version"]
        status, body = ed.api("DELETE", f"resources/Service/default/temp?version={created}")
        self.assertEqual(status, 200, body)
        deleted = body["version"]
        status, body = ed.api("GET", f"diff?from={base}&to={created}")
        self.assertEqual(body["diff"]["changes"][0]["key"], "Service/default/temp")
        status, body = ed.api("GET", "versions?limit=2")
        self.assertEqual([v["id"] for v in body["items"]], [deleted, created])
        self.assertEqual(body["items"][0]["author"], "ed")
        status, body = ed.api("GET", f"versions?limit=1&before={deleted}")
        self.assertEqual(body["items"][0]["id"], created)
        status, body = self.admin.api("POST", "rollback", {"to": created, "version": deleted})
        self.assertEqual(status, 200, body)
        status, got = ed.api("GET", "resources/Service/default/temp")
        self.assertEqual(status, 200, got)
        self.assertEqual(got["version"], body["version"])
        status, audit = self.admin.api("GET", "audit?limit=1")
        self.assertEqual(audit["items"][0]["action"], "rollback")
        self.assertEqual(audit["items"][0]["actor"], "admin")

    def test_audit_log_pages(self):
        status, first = self.admin.api("GET", "audit?limit=2")
        self.assertEqual(len(first["items"]), 2)
        self.assertIsNotNone(first["next"])
        status, second = self.admin.api("GET", f"audit?limit=2&before={first['next']}")
        self.assertLess(second["items"][0]["id"], first["items"][-1]["id"])
        status, body = self.admin.api("GET", "audit?limit=500")
        self.assertIn("user", {e["action"] for e in body["items"]})

    # --- what the server knows -----------------------------------------------------------

    def test_overview_stats_topology_certificates(self):
        vi = self.client("vi")
        status, ov = vi.api("GET", "overview")
        self.assertEqual(status, 200, ov)
        self.assertEqual(ov["listeners"][0]["protocol"], "HTTP")
        status, st = vi.api("GET", "stats")
        names = {s["name"] for s in st["series"]}
        self.assertIn("gatehouse_downstream_rq_total", names)
        # Per-route latency and rates: the same view as stats/live (test_admin_observability).
        self.assertEqual(st["latency"]["windowSeconds"], 60)
        self.assertIn("routes", st["latency"])
        status, topo = vi.api("GET", "topology")
        self.assertIn("Service/default/welcome", {n["id"] for n in topo["nodes"]})
        status, certs = vi.api("GET", "certificates")
        self.assertEqual(status, 200)
        self.assertEqual(certs["ca"]["trustDomain"], "cluster.local")
        status, body = vi.api("POST", "authz/explain", {"method": "GET", "path": "/"})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["allow"])
        self.assertEqual(body["target"], "Listener default/default")

    def test_authz_explain_with_a_draft_policy(self):
        deny = ("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                "metadata: {name: no-admin, namespace: default}\n"
                "spec:\n  targetRefs: [{kind: Listener, group: gatehouse.dev, name: default}]\n"
                "  action: DENY\n  rules: [{to: [{operation: {paths: [\"/admin*\"]}}]}]\n")
        vi = self.client("vi")
        status, body = vi.api("POST", "authz/explain",
                              {"method": "GET", "path": "/admin/x", "yaml": deny})
        self.assertEqual(status, 200, body)
        self.assertFalse(body["allow"])
        self.assertIn("default/no-admin", body["explain"])
        self.assertTrue(body["draft"])
        status, body = vi.api("POST", "authz/explain", {"method": "GET", "path": "/admin/x"})
        self.assertTrue(body["allow"])  # the draft was not saved

    def test_join_token_from_the_api(self):
        status, made = self.admin.api("POST", "join-tokens", {"workload": "orders", "ttl": "10m"})
        self.assertEqual(status, 200, made)
        self.assertTrue(made["token"].startswith("ghjt."))
        self.assertEqual(made["spiffeId"], "spiffe://cluster.local/ns/default/sa/orders")
        status, listed = self.admin.api("GET", "join-tokens")
        self.assertIn(made["id"], {t["id"] for t in listed["items"]})
        self.assertNotIn(made["token"], json.dumps(listed))

    def test_last_admin_cannot_be_removed_or_demoted(self):
        status, body = self.admin.api("PUT", "users/admin", {"role": "viewer"})
        self.assertEqual(status, 409, body)
        status, body = self.admin.api("DELETE", "users/admin")
        self.assertEqual(status, 409, body)

    # --- the embedded UI -----------------------------------------------------------------

    def test_ui_is_served_compressed_with_etags(self):
        c = Client(self.port)
        status, hdrs, body = c.request("GET", "/app.js", headers={"Accept-Encoding": "gzip"},
                                       raw=True)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-encoding"], "gzip")
        self.assertIn(b"preact", gzip.decompress(body).lower() + b"preact")
        status, hdrs2, _ = c.request("GET", "/app.js", headers={"If-None-Match": hdrs["etag"]},
                                     raw=True)
        self.assertEqual(status, 304)
        status, _, body = c.request("GET", "/", raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b'<script src="/app.js"', body)
        self.assertNotIn(b"<script>", body)  # no inline script
        self.assertEqual(c.request("GET", "/nope", raw=True)[0], 404)


class AdminCliTest(unittest.TestCase):
    def test_user_add_and_passwd_from_the_cli(self):
        gh = start_gatehouse()
        try:
            r = gh.cli("admin", "user", "add", "ops", "--role", "editor",
                       stdin=PASSWORD + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = gh.cli("admin", "user", "add", "ops", "--role", "editor", stdin=PASSWORD + "\n")
            self.assertEqual(r.returncode, 1)
            r = gh.cli("admin", "user", "add", "x", "--role", "root", stdin=PASSWORD + "\n")
            self.assertEqual(r.returncode, 2)
            gh.start()
            c = Client(gh.admin_port)
            self.assertEqual(c.login("ops", PASSWORD)[0], 200)
            self.assertEqual(c.api("GET", "session")[1]["role"], "editor")
            r = gh.cli("admin", "passwd", "ops", stdin="another password 42\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(c.api("GET", "session")[0], 401)  # sessions ended
            self.assertEqual(Client(gh.admin_port).login("ops", "another password 42")[0], 200)
            r = gh.cli("admin", "user", "list")
            self.assertIn("ops", r.stdout)
            # Its only user is an editor, so the server still made the `admin` account.
            self.assertTrue(os.path.exists(os.path.join(gh.data_dir, "initial-admin-password")))
        finally:
            gh.cleanup()


if __name__ == "__main__":
    unittest.main()
