"""Configuration lifecycle against the real binary: `validate` diagnostics, `apply` versions
(all-or-nothing, --dry-run, --prune, no-change, get/apply round trips), and a running server
taking new versions: within a second, listeners added and removed without disturbing the
others, in-flight exchanges finishing on their snapshot, refused versions, the embedded
default, the data-dir lock and SIGHUP."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BINARY, Gatehouse, Upstream, free_port, wait_for


# --- documents ----------------------------------------------------------------------------


def listener(name, port, address="127.0.0.1"):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: {name}}}
spec:
  address: {address}
  port: {port}
  protocol: HTTP
"""


def service(name, port):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: {name}}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {port}}}]
"""


def http_route(name, parents, svc, path="/", path_type="PathPrefix", tag=None):
    """A one-rule route; `tag` adds a ResponseHeaderModifier setting x-config-tag."""
    filters = ""
    if tag:
        filters = (f"      filters:\n        - type: ResponseHeaderModifier\n"
                   f"          responseHeaderModifier: {{set: [{{name: x-config-tag, "
                   f"value: {tag}}}]}}\n")
    refs = ", ".join(f"{{name: {p}}}" for p in parents)
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{refs}]
  rules:
    - matches: [{{path: {{type: {path_type}, value: {path}}}}}]
{filters}      backendRefs: [{{name: {svc}}}]
"""


def loc_of(text, needle, occurrence=1):
    """(line, column), 1-based, of the n-th occurrence of `needle` in `text`."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def validate(*args):
    return subprocess.run([BINARY, "validate", *args], capture_output=True, text=True,
                          timeout=30)


def get(url_port, path, host="x", timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", url_port, timeout=timeout)
    c.request("GET", path, headers={"Host": host})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def try_get(port, path):
    """(status, x-upstream) or None when nothing answers."""
    try:
        r, _ = get(port, path, timeout=2)
        return r.status, r.getheader("x-upstream")
    except OSError:
        return None


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class KeepAlive:
    """One raw client connection used for several requests; never reconnects."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.local = self.sock.getsockname()
        self.buf = b""

    def get(self, path):
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise AssertionError("connection closed by gatehouse")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            n, v = line.split(":", 1)
            headers[n.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise AssertionError("connection closed mid-body")
            self.buf += d
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(lines[0].split(" ")[1]), headers, body

    def close(self):
        self.sock.close()


# --- validate -----------------------------------------------------------------------------

VALID = (listener("edge", 8000) + service("app", 9000)
         + http_route("r", ["edge"], "app"))


class ValidateTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-validate-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertProblemAt(self, text, needle, message_part, occurrence=1, name="bad.yaml"):
        path = self.write(name, text)
        r = validate("-f", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        line, col = loc_of(text, needle, occurrence)
        want = f"gatehouse: {path}:{line}:{col}: "
        lines = [x for x in r.stderr.splitlines() if x.startswith(want)]
        self.assertTrue(lines, f"no problem at {line}:{col} ({needle!r}) in:\n{r.stderr}")
        self.assertIn(message_part, lines[0])
        return r

    def test_valid_file_exits_0(self):
        path = self.write("ok.yaml", VALID)
        r = validate("-f", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn("3 resources", r.stdout)

    def test_unknown_field(self):
        text = VALID.replace("  protocol: HTTP\n", "  protocol: HTTP\n  protocl: HTTP\n", 1)
        self.assertProblemAt(text, "protocl:", "spec.protocl: unknown field")

    def test_wrong_type(self):
        text = VALID.replace("port: 9000}", 'port: "abc"}')
        self.assertProblemAt(text, '"abc"', "spec.endpoints[0].port")

    def test_bad_enum(self):
        text = VALID.replace("type: PathPrefix", "type: Prefix")
        r = self.assertProblemAt(text, "Prefix,", "spec.rules[0].matches[0].path.type")
        self.assertIn("PathPrefix", r.stderr)  # names the allowed values

    def test_backend_ref_to_missing_service(self):
        text = VALID + http_route("r2", ["edge"], "nowhere", path="/two")
        self.assertProblemAt(text, "{name: nowhere}", "Service default/nowhere does not exist")

    def test_parent_ref_to_missing_listener(self):
        text = VALID + http_route("r2", ["gone"], "app", path="/two")
        self.assertProblemAt(text, "{name: gone}", "Listener default/gone does not exist")

    def test_duplicate_listener_port(self):
        text = VALID + service("other", 9001) + listener("edge2", 8000, "0.0.0.0")
        self.assertProblemAt(text, "8000", "conflicts with Listener default/edge", occurrence=2)

    def test_regex_that_does_not_compile(self):
        text = VALID.replace("type: PathPrefix, value: /", 'type: RegularExpression, value: "/a(["')
        self.assertProblemAt(text, '"/a(["', "spec.rules[0].matches[0].path.value")

    def test_usage_errors_exit_2(self):
        self.assertEqual(validate().returncode, 2)
        path = self.write("ok.yaml", VALID)
        self.assertEqual(validate("-f", path, "--format", "xml").returncode, 2)

    def test_several_problems_each_reported(self):
        text = (VALID + http_route("r2", ["edge"], "nowhere", path="/two")
                + listener("edge2", 8000))
        path = self.write("bad.yaml", text)
        r = validate("-f", path)
        self.assertEqual(r.returncode, 1)
        problems = [x for x in r.stderr.splitlines() if x.startswith("gatehouse: ")]
        self.assertEqual(len(problems), 2, r.stderr)

    def test_format_json(self):
        text = VALID.replace("type: PathPrefix", "type: Prefix")
        path = self.write("bad.yaml", text)
        r = validate("-f", path, "--format", "json")
        self.assertEqual(r.returncode, 1)
        out = json.loads(r.stdout)
        self.assertFalse(out["valid"])
        (p,) = out["problems"]
        line, col = loc_of(text, "Prefix,")
        self.assertEqual((p["file"], p["line"], p["column"]), (path, line, col))
        self.assertIn("path.type", p["message"])
        ok = self.write("ok.yaml", VALID)
        r = validate("-f", ok, "--format", "json")
        self.assertEqual(r.returncode, 0)
        out = json.loads(r.stdout)
        self.assertEqual((out["valid"], out["resources"], out["problems"]), (True, 3, []))

    def test_multi_document_positions(self):
        # The error is in the 4th document: lines count across the whole file.
        text = VALID + "# a comment\n" + service("two", 9100).replace("port: 9100",
                                                                        "port: 9100, weight: heavy")
        self.assertProblemAt(text, "heavy", "spec.endpoints[0].weight")

    def test_directory_is_recursed(self):
        self.write("conf/listeners.yaml", listener("edge", 8000))
        self.write("conf/sub/app.yml", service("app", 9000))
        self.write("conf/sub/deeper/routes.yaml", http_route("r", ["edge"], "app"))
        self.write("conf/README.txt", "not configuration\n")
        r = validate("-f", os.path.join(self.dir, "conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 resources", r.stdout)
        # A problem in a nested file is reported with that file's path.
        bad = http_route("r2", ["edge"], "nowhere", path="/x")
        p = self.write("conf/sub/deeper/more.yaml", bad)
        r = validate("-f", os.path.join(self.dir, "conf"))
        self.assertEqual(r.returncode, 1)
        line, col = loc_of(bad, "{name: nowhere}")
        self.assertIn(f"{p}:{line}:{col}: ", r.stderr)

    def test_json_input(self):
        doc = {"apiVersion": "gatehouse.dev/v1", "kind": "Listener",
               "metadata": {"name": "edge"},
               "spec": {"address": "127.0.0.1", "port": 8000}}
        ok = self.write("l.json", json.dumps(doc, indent=2))
        r = validate("-f", ok)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc["spec"]["protocol"] = "HTTP3"
        text = json.dumps(doc, indent=2)
        self.assertProblemAt(text, '"HTTP3"', "spec.protocol", name="bad.json")

    def test_several_files_and_stdin(self):
        a = self.write("a.yaml", listener("edge", 8000) + service("app", 9000))
        r = subprocess.run([BINARY, "validate", "-f", a, "-f", "-"], capture_output=True,
                           text=True, timeout=30, input=http_route("r", ["edge"], "app"))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = validate("-f", os.path.join(self.dir, "missing.yaml"))
        self.assertNotEqual(r.returncode, 0)


# --- apply / get --------------------------------------------------------------------------


class ApplyTest(unittest.TestCase):

    def setUp(self):
        self.gh = Gatehouse()
        self.port = free_port()
        self.base = (listener("edge", self.port) + service("app", free_port())
                     + http_route("r", ["edge"], "app"))

    def tearDown(self):
        self.gh.cleanup()

    def get_all(self, fmt="yaml"):
        return [self.gh.cli("get", k, "-o", fmt, check=True).stdout
                for k in ("listeners", "services", "httproutes")]

    def test_apply_creates_a_version(self):
        r = self.gh.apply(self.base)
        self.assertIn("applied version 1", r.stdout)
        r = self.gh.apply(service("extra", 9999))
        self.assertIn("applied version 2", r.stdout)
        self.assertIn("Service/default/extra", r.stdout)
        out = self.gh.cli("get", "services", check=True).stdout
        self.assertIn("extra", out)
        self.assertIn("app", out)

    def test_apply_partial_file_referencing_stored_resources(self):
        # kubectl-apply semantics: a file with just a route may name the Listener and Service
        # of the active version; only the merged set has to be valid.
        self.gh.apply(self.base)
        r = self.gh.apply(http_route("r2", ["edge"], "app", path="/two"), check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("applied version 2", r.stdout)
        self.assertIn("+ HTTPRoute/default/r2", r.stdout)
        names = self.gh.cli("get", "httproutes", check=True).stdout
        self.assertIn("r2", names)

    def test_identical_apply_is_no_change(self):
        self.gh.apply(self.base)
        r = self.gh.apply(self.base)
        self.assertEqual(r.returncode, 0)
        self.assertIn("no change", r.stdout)
        r = self.gh.apply(service("x", 1))
        self.assertIn("applied version 2", r.stdout)  # no version was spent on the no-op

    def test_invalid_apply_changes_nothing(self):
        self.gh.apply(self.base)
        self.gh.start()
        self.assertEqual(self.gh.config_version(), 1)
        before = self.get_all()
        # One valid new resource and one invalid one: all or nothing.
        bad = service("fine", 9001) + http_route("broken", ["edge"], "nowhere", path="/b")
        r = self.gh.apply(bad, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nowhere", r.stderr)
        bad = service("fine", 9001).replace("endpoints:", "endpoint:")
        r = self.gh.apply(bad, check=False)
        self.assertEqual(r.returncode, 1)
        time.sleep(0.5)
        self.assertEqual(self.gh.config_version(), 1)
        self.assertEqual(self.get_all(), before)
        m = self.gh.metrics()
        self.assertEqual(m['gatehouse_config_reloads_total{result="failure"}'], 0)
        self.assertIn("applied version 2", self.gh.apply(service("x", 1)).stdout)

    def test_dry_run_stores_nothing(self):
        self.gh.apply(self.base)
        before = self.get_all()
        r = self.gh.apply(service("extra", 9999), "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Service/default/extra", r.stdout)
        r = self.gh.apply(service("extra", 9999), "--prune", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("- Listener/default/edge", r.stdout)
        self.assertEqual(self.get_all(), before)
        self.assertIn("applied version 2", self.gh.apply(service("extra", 9999)).stdout)

    def test_dry_run_on_a_fresh_data_dir(self):
        # Nothing applied yet: the diff is "everything is created", and nothing is written.
        r = self.gh.apply(self.base, "--dry-run", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("+ Listener/default/edge", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.gh.data_dir, "config.db")))

    def test_apply_keeps_others_and_prune_removes_them(self):
        self.gh.apply(self.base)
        self.gh.apply(service("extra", 9999))
        names = self.gh.cli("get", "services", check=True).stdout
        self.assertIn("app", names)
        self.assertIn("extra", names)
        r = self.gh.apply(self.base, "--prune")
        self.assertIn("- Service/default/extra", r.stdout)
        names = self.gh.cli("get", "services", check=True).stdout
        self.assertIn("app", names)
        self.assertNotIn("extra", names)
        self.assertEqual(self.gh.cli("get", "service", "extra").returncode, 1)

    def test_prune_that_leaves_a_dangling_reference_is_refused(self):
        self.gh.apply(self.base)
        before = self.get_all()
        # The pruned set keeps route r but drops the Service it names: refused as a whole.
        r = self.gh.apply(listener("edge", self.port) + http_route("r", ["edge"], "app"),
                          "--prune", check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("Service default/app does not exist", r.stderr)
        self.assertEqual(self.get_all(), before)

    def test_get_yaml_round_trips(self):
        rich = self.base + f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: rich, namespace: default, labels: {{team: a}}}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: ["shop.example.com", "*.example.com"]
  rules:
    - name: api
      matches:
        - path: {{type: RegularExpression, value: "/api/v[0-9]+"}}
          method: GET
          headers: [{{name: x-canary, value: "1"}}, {{type: RegularExpression, name: x-v, value: "a.*"}}]
          queryParams: [{{name: q, value: "yes"}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {{set: [{{name: x-env, value: prod}}], add: [{{name: x-a, value: "2"}}], remove: [x-b]}}
        - type: URLRewrite
          urlRewrite: {{hostname: internal, path: {{type: ReplaceFullPath, replaceFullPath: /v2}}}}
      backendRefs: [{{name: app, weight: 3}}, {{name: direct, weight: 0}}]
      timeouts: {{request: 10s, backendRequest: 2s}}
    - matches: [{{path: {{type: PathPrefix, value: /old}}}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {{scheme: https, hostname: new.example.com, port: 8443, statusCode: 301, path: {{type: ReplacePrefixMatch, replacePrefixMatch: /new}}}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: direct}}
spec:
  directResponse: {{status: 503, contentType: text/html, body: "<p>down</p>"}}
  trafficPolicy: {{connectionPool: {{tcp: {{connectTimeout: 1s}}, http: {{idleTimeout: 30s}}}}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: tuned}}
spec:
  address: 127.0.0.1
  port: {free_port()}
  http: {{maxHeaders: 50, headTimeout: 5s, mergeSlashes: true, xffTrustedHops: 1}}
"""
        self.gh.apply(rich)
        dumped = self.get_all("yaml")
        path = os.path.join(self.gh.data_dir, "dump.yaml")
        with open(path, "w") as f:
            f.write("---\n".join(dumped))
        r = self.gh.cli("apply", "-f", path, check=True)
        self.assertIn("no change", r.stdout)
        # With --prune too: the dump is the whole configuration.
        r = self.gh.cli("apply", "-f", path, "--prune", check=True)
        self.assertIn("no change", r.stdout)
        self.assertEqual(self.get_all("yaml"), dumped)

    def test_get_json_round_trips(self):
        self.gh.apply(self.base + service("direct", 1).replace(
            "endpoints: [{address: 127.0.0.1, port: 1}]",
            'directResponse: {status: 200, body: "hi"}'))
        # One resource by name: the document itself.
        one = self.gh.cli("get", "service", "direct", "-o", "json", check=True).stdout
        self.assertEqual(json.loads(one)["metadata"]["name"], "direct")
        path = os.path.join(self.gh.data_dir, "one.json")
        with open(path, "w") as f:
            f.write(one)
        self.assertIn("no change", self.gh.cli("apply", "-f", path, check=True).stdout)
        # A whole kind: what `get` prints must be accepted back by `apply` unchanged.
        for kind in ("listeners", "services", "httproutes"):
            out = self.gh.cli("get", kind, "-o", "json", check=True).stdout
            path = os.path.join(self.gh.data_dir, f"{kind}.json")
            with open(path, "w") as f:
                f.write(out)
            r = self.gh.cli("apply", "-f", path)
            self.assertEqual(r.returncode, 0, f"get {kind} -o json is not accepted by apply: "
                                              f"{r.stderr}")
            self.assertIn("no change", r.stdout)

    def test_get_filters(self):
        self.gh.apply(self.base + service("app", 1).replace("name: app}", "name: app, "
                                                                           "namespace: other}"))
        out = self.gh.cli("get", "services", "-n", "other", check=True).stdout
        self.assertIn("other", out)
        self.assertNotIn("default", out)
        y = self.gh.cli("get", "service", "app", "-n", "other", "-o", "yaml", check=True).stdout
        self.assertIn("namespace: other", y)
        self.assertEqual(self.gh.cli("get", "nosuchkind").returncode, 2)


# --- a running server ---------------------------------------------------------------------


class LiveTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.a = Upstream("u-a")
        cls.b = Upstream("u-b")

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()

    def setUp(self):
        self.gh = Gatehouse(workers=2)
        self.port = free_port()
        self.services = service("svc-a", self.a.port) + service("svc-b", self.b.port)

    def tearDown(self):
        self.gh.cleanup()

    def full(self, docs):
        """The listener `edge` and both Services, plus `docs`: a file that stands alone."""
        return listener("edge", self.port) + self.services + docs

    def start(self, config):
        self.gh.apply(config)
        self.gh.start()

    def test_new_version_served_within_one_second(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        self.assertEqual(try_get(self.port, "/new"), (200, "u-a"))
        times = []
        for i in range(3):
            path = f"/new{i}"
            # Whole files each time (see test_apply_partial_file_referencing_stored_resources).
            self.gh.apply(self.full(http_route(f"new{i}", ["edge"], "svc-b", path=path,
                                               path_type="Exact")))
            t0 = time.monotonic()
            while try_get(self.port, path) != (200, "u-b"):
                self.assertLess(time.monotonic() - t0, 3, "new version never served")
                time.sleep(0.01)
            times.append(time.monotonic() - t0)
        self.assertLess(max(times), 1.0, times)
        self.assertEqual(self.gh.config_version(), 4)
        self.assertEqual(try_get(self.port, "/other"), (200, "u-a"))

    def test_listener_added_and_removed_without_disturbing_others(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        ka = KeepAlive(self.port)
        self.assertEqual(ka.get("/one")[1]["x-upstream"], "u-a")
        p2 = free_port()
        self.gh.apply(self.full(listener("edge2", p2)
                                + http_route("main", ["edge", "edge2"], "svc-a")))
        self.gh.wait_version(2)
        wait_for(lambda: try_get(p2, "/x") == (200, "u-a"), 2, what="the new listener")
        # The old connection is still the same socket and still answers.
        status, h, body = ka.get("/two")
        self.assertEqual((status, h["x-upstream"], body), (200, "u-a", b"upstream u-a"))
        self.assertEqual(ka.sock.getsockname(), ka.local)
        # Remove edge2: its port refuses connections, edge keeps serving, old socket too.
        self.gh.apply(listener("edge", self.port) + self.services
                      + http_route("main", ["edge"], "svc-a"), "--prune")
        self.gh.wait_version(3)
        wait_for(lambda: refused(p2), 2, what=f"port {p2} to refuse connections")
        self.assertEqual(ka.get("/three")[1]["x-upstream"], "u-a")
        self.assertEqual(try_get(self.port, "/x"), (200, "u-a"))
        ka.close()
        m = self.gh.metrics()
        self.assertEqual(m['gatehouse_config_reloads_total{result="failure"}'], 0)

    def test_in_flight_exchange_finishes_on_its_snapshot(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a", tag="one"))
        result = {}

        def slow():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/sleep/1500")
            r = c.getresponse()
            result["first"] = (r.status, r.getheader("x-config-tag"), r.read())
            # The next exchange on the same connection runs on the new version.
            c.request("GET", "/after")
            r = c.getresponse()
            result["second"] = (r.status, r.getheader("x-upstream"), r.getheader("x-config-tag"))
            r.read()
            c.close()

        n_a = self.a.count()
        t = threading.Thread(target=slow)
        t.start()
        wait_for(lambda: any(q.target == "/sleep/1500" for q in self.a.requests[n_a:]), 5,
                 what="the slow request to reach u-a")
        # The new version routes everything to svc-b and no longer has svc-a at all.
        self.gh.apply(listener("edge", self.port) + service("svc-b", self.b.port)
                      + http_route("main", ["edge"], "svc-b", tag="two"), "--prune")
        self.gh.wait_version(2)
        r, body = get(self.port, "/new")
        self.assertEqual((r.status, r.getheader("x-upstream"), r.getheader("x-config-tag")),
                         (200, "u-b", "two"))
        self.assertTrue(t.is_alive(), "the slow request ended before the new version was live")
        t.join(10)
        self.assertEqual(result.get("first"), (200, "one", b"slept 1500\n"))
        self.assertEqual(result.get("second"), (200, "u-b", "two"))
        self.assertFalse(any(q.target == "/sleep/1500" for q in self.b.requests))

    def test_version_with_busy_port_is_refused_and_old_keeps_serving(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        try:
            m0 = self.gh.metrics()
            # Also routes everything to svc-b: none of it may take effect.
            self.gh.apply(self.full(listener("blocked", busy)
                                    + http_route("main", ["edge", "blocked"], "svc-b")))
            failures = 'gatehouse_config_reloads_total{result="failure"}'
            wait_for(lambda: self.gh.metrics()[failures] >= m0[failures] + 1, 3,
                     what="the reload failure to be counted")
            self.assertEqual(self.gh.config_version(), 1)
            self.assertEqual(try_get(self.port, "/x"), (200, "u-a"))
            self.assertIn("not applied", self.gh.logs())
            self.assertIn("blocked", self.gh.logs())
            self.assertIsNone(self.gh.proc.poll())
        finally:
            blocker.close()
        # A later valid version is taken as usual.
        self.gh.apply(self.full(listener("blocked", free_port())
                                + http_route("main", ["edge", "blocked"], "svc-b")))
        self.gh.wait_version(3)
        self.assertEqual(try_get(self.port, "/x"), (200, "u-b"))

    def test_sighup_keeps_serving(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        ka = KeepAlive(self.port)
        self.assertEqual(ka.get("/1")[0], 200)
        for _ in range(3):
            self.gh.proc.send_signal(signal.SIGHUP)
            time.sleep(0.1)
        time.sleep(0.3)
        self.assertIsNone(self.gh.proc.poll(), "gatehouse exited on SIGHUP")
        self.assertTrue(self.gh.ready())
        self.assertEqual(try_get(self.port, "/x"), (200, "u-a"))
        self.assertEqual(ka.get("/2")[1]["x-upstream"], "u-a")
        ka.close()
        self.assertIn("SIGHUP", self.gh.logs())
        self.assertEqual(self.gh.metrics()['gatehouse_config_reloads_total{result="failure"}'], 0)

    def test_sighup_retries_a_refused_version(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        self.gh.apply(self.full(listener("blocked", busy)
                                + http_route("main", ["edge", "blocked"], "svc-b")))
        failures = 'gatehouse_config_reloads_total{result="failure"}'
        wait_for(lambda: self.gh.metrics()[failures] >= 1, 3, what="the refusal")
        blocker.close()
        # The port is free now: SIGHUP re-reads the configuration and serves version 2.
        self.gh.proc.send_signal(signal.SIGHUP)
        self.gh.wait_version(2, timeout=3)
        wait_for(lambda: try_get(busy, "/x") == (200, "u-b"), 2, what="the freed port")

    def test_two_nodes_started_at_once_never_share_a_port(self):
        # SO_REUSEPORT would let a second node of the same user join the first one's port and
        # take part of its connections; started at the same moment, exactly one of them gets
        # the port and the other refuses, naming it.
        other = Gatehouse(workers=2)
        try:
            self.gh.apply(listener("edge", self.port) + self.services
                          + http_route("main", ["edge"], "svc-a"))
            other.apply(listener("edge", self.port) + self.services
                        + http_route("main", ["edge"], "svc-b"))
            self.gh.start(wait_ready=False)
            other.start(wait_ready=False)
            nodes = (self.gh, other)
            wait_for(lambda: sum(n.proc.poll() is not None for n in nodes) >= 1, 10,
                     what="one node to refuse the port")
            time.sleep(0.5)
            running = [n for n in nodes if n.proc.poll() is None]
            self.assertEqual(len(running), 1)
            refused = other if running[0] is self.gh else self.gh
            self.assertIn(f"127.0.0.1:{self.port}: Address already in use", refused.logs())
            want = "u-a" if running[0] is self.gh else "u-b"
            wait_for(running[0].ready, 10, what="the node that got the port")
            self.assertEqual({try_get(self.port, f"/{i}")[1] for i in range(20)}, {want})
        finally:
            other.cleanup()

    def test_second_run_on_same_data_dir_exits_3(self):
        self.start(listener("edge", self.port) + self.services
                   + http_route("main", ["edge"], "svc-a"))
        r = subprocess.run([BINARY, "run", "--data-dir", self.gh.data_dir, "--workers", "1",
                            "--admin", f"127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("in use", r.stdout + r.stderr)
        # The first one is undisturbed.
        self.assertEqual(try_get(self.port, "/x"), (200, "u-a"))

    def test_embedded_default_on_empty_data_dir(self):
        if not port_free(8080):
            self.skipTest("port 8080 is busy on this machine")
        self.gh.start()
        r, body = get(8080, "/")
        self.assertEqual(r.status, 200)
        self.assertIn(b"Gatehouse is running", body)
        self.assertTrue(r.getheader("content-type").startswith("text/html"))
        self.assertEqual(self.gh.config_version(), 1)
        self.assertTrue(os.path.exists(os.path.join(self.gh.data_dir, "config.db")))
        out = self.gh.cli("get", "listeners", "-o", "yaml", check=True).stdout
        self.assertIn("port: 8080", out)
        # The embedded default includes the mesh CA of trust domain cluster.local, key 0600.
        ca_dir = os.path.join(self.gh.data_dir, "ca")
        self.assertEqual(os.stat(ca_dir).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(ca_dir, "ca.key")).st_mode & 0o777, 0o600)
        status = self.gh.cli("cert", "status").stdout
        self.assertIn("holds the CA of trust domain cluster.local", status)
        # Stopping and starting again keeps the stored version (no second default).
        self.assertEqual(self.gh.stop(), 0)
        self.gh.start()
        self.assertEqual(self.gh.config_version(), 1)


if __name__ == "__main__":
    unittest.main()
