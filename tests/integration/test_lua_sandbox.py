"""Lua hooks through the binary (issue 7, docs/lua.md "Sandbox and limits", "Errors, failOpen
and counters", "Hot change"): the sandbox's globals, the instruction budget and the memory cap
stop one script without stopping the worker, a failing hook answers 500 lua_error (or lets the
request through with failOpen) and is counted per script, dynamic metadata travels from the
request hook to the response hook, and a new script version applied under load fails nothing."""

import http.client
import json
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port, wait_for


def lua(name, listener, source, fail_open=False, extra=""):
    body = "\n".join("      " + l for l in source.strip("\n").splitlines())
    return f"""---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {{name: {name}}}
spec:
  attachTo: [{{kind: Listener, name: {listener}}}]
  failOpen: {"true" if fail_open else "false"}{extra}
  source:
    inline: |
{body}
"""


def listener(name, port):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: {name}}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
"""


FORBIDDEN = ["os", "io", "debug", "ffi", "jit", "package", "require", "dofile", "loadfile",
             "getfenv", "setfenv", "module", "newproxy"]

GLOBALS = """
function envoy_on_request(h)
  local present = {}
  for _, name in ipairs({%s}) do
    if _G[name] ~= nil then present[#present + 1] = name end
  end
  if string.dump ~= nil then present[#present + 1] = "string.dump" end
  if type(getmetatable("")) == "table" then present[#present + 1] = "string metatable" end
  local ok = pcall(collectgarbage, "stop")
  if ok then present[#present + 1] = "collectgarbage('stop')" end
  if loadstring("\\27LJ\\2") ~= nil then present[#present + 1] = "bytecode" end
  h:respond({[":status"] = "200"}, "present:" .. table.concat(present, ","))
end
""" % ", ".join(f'"{g}"' for g in FORBIDDEN)

RUNAWAY = """
function envoy_on_request(h)
  if h:headers():get(":path") == "/spin" then
    while true do end
  end
end
"""

HOG = """
hoard = {}
function envoy_on_request(h)
  if h:headers():get(":path") == "/hog" then
    for i = 1, 100000000 do hoard[#hoard + 1] = string.rep("x", 4096) .. i end
  end
  h:headers():add("x-hog", "fine")
end
"""

BROKEN = """
function envoy_on_request(h)
  if h:headers():get(":path") == "/boom" then error("deliberate failure") end
  h:headers():add("x-broken", "not this time")
end
"""

METADATA = """
function envoy_on_request(h)
  h:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "tenant",
    h:headers():get("x-tenant") or "none")
end
function envoy_on_response(h)
  local m = h:streamInfo():dynamicMetadata():get("envoy.filters.http.lua")
  h:headers():add("x-tenant-seen", m and m.tenant or "missing")
end
"""


def version_script(v):
    return f"""
function envoy_on_request(h)
  h:headers():add("x-script-version", "{v}")
end
function envoy_on_response(h)
  h:headers():add("x-script-version", "{v}")
end
"""


class LuaSandboxTest(unittest.TestCase):
    NAMES = ["globals", "runaway", "hog", "broken", "lenient", "meta", "live"]

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream("u1")
        cls.ports = {}
        for n in cls.NAMES:
            p = free_port()
            while p in cls.ports.values():
                p = free_port()
            cls.ports[n] = p
        # One worker: the runaway and the hog share the VM and the thread with the others.
        cls.gh = Gatehouse(workers=1)
        cls.gh.apply(cls.config(version_script(1)))
        cls.gh.start()

    @classmethod
    def config(cls, live_source):
        parents = ", ".join(f"{{name: {n}}}" for n in cls.NAMES)
        out = "".join(listener(n, cls.ports[n]) for n in cls.NAMES)
        out += f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {cls.upstream.port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{parents}]
  rules:
    - backendRefs: [{{name: app}}]
"""
        out += lua("globals", "globals", GLOBALS)
        out += lua("runaway", "runaway", RUNAWAY, extra="\n  limits: {instructions: 100000}")
        out += lua("hog", "hog", HOG)
        out += lua("broken", "broken", BROKEN)
        out += lua("lenient", "lenient", BROKEN.replace("x-broken", "x-lenient"), fail_open=True)
        out += lua("meta", "meta", METADATA)
        out += lua("live", "live", live_source)
        return out

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.upstream.stop()

    def get(self, name, path="/echo", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.ports[name], timeout=10)
        try:
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def metric(self, name):
        return self.gh.metrics().get(name, 0)

    def test_forbidden_globals_are_absent(self):
        status, _, body = self.get("globals")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"present:")

    def test_runaway_loop_is_stopped_and_the_worker_keeps_serving(self):
        before = self.metric('gatehouse_lua_errors_total{script="runaway"}')
        status, headers, _ = self.get("runaway", "/spin")
        self.assertEqual(status, 500)
        self.assertEqual(headers.get("x-gatehouse-reason"), "lua_error")
        self.assertIn("runaway:3: instruction budget exceeded", self.gh.logs())
        # The same (only) worker answers the next request, on this script and on others.
        self.assertEqual(self.get("runaway")[0], 200)
        self.assertEqual(self.get("broken")[0], 200)
        self.assertEqual(self.metric('gatehouse_lua_errors_total{script="runaway"}'), before + 1)

    def test_memory_cap_fails_only_the_allocating_script(self):
        status, headers, _ = self.get("hog", "/hog")
        self.assertEqual(status, 500)
        self.assertEqual(headers.get("x-gatehouse-reason"), "lua_error")
        self.assertIn("not enough memory", self.gh.logs())
        # The worker, the VM and the other scripts go on.
        status, _, body = self.get("broken")
        self.assertEqual(status, 200)
        self.assertIn("x-broken", [h[0] for h in json.loads(body)["headers"]])
        self.assertEqual(self.get("globals")[2], b"present:")

    def test_script_error_is_500_and_counted(self):
        before = self.metric('gatehouse_lua_errors_total{script="broken"}')
        calls = self.metric('gatehouse_lua_executions_total{script="broken"}')
        status, headers, _ = self.get("broken", "/boom")
        self.assertEqual(status, 500)
        self.assertEqual(headers.get("x-gatehouse-reason"), "lua_error")
        self.assertIn("lua: script error: broken:2: deliberate failure", self.gh.logs())
        self.assertEqual(self.metric('gatehouse_lua_errors_total{script="broken"}'), before + 1)
        self.assertGreaterEqual(self.metric('gatehouse_lua_executions_total{script="broken"}'),
                                calls + 1)
        self.assertGreater(self.metric('gatehouse_lua_duration_seconds_count{script="broken"}'), 0)
        self.assertGreaterEqual(self.metric('gatehouse_local_replies_total{reason="lua_error"}'), 1)

    def test_fail_open_lets_the_request_through_and_counts(self):
        before = self.metric('gatehouse_lua_errors_total{script="lenient"}')
        status, _, body = self.get("lenient", "/echo/boom")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["target"], "/echo/boom")
        status, _, _ = self.get("lenient", "/boom")
        self.assertEqual(status, 200)
        self.assertEqual(self.metric('gatehouse_lua_errors_total{script="lenient"}'), before + 1)

    def test_dynamic_metadata_reaches_the_response_hook(self):
        status, headers, _ = self.get("meta", headers={"x-tenant": "acme"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("x-tenant-seen"), "acme")

    def test_zz_hot_change_under_load_fails_nothing(self):
        stop = threading.Event()
        results = {"ok": 0, "failed": [], "versions": set()}
        lock = threading.Lock()

        def load():
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.ports["live"],
                                                          timeout=10)
                    conn.request("GET", "/echo")
                    r = conn.getresponse()
                    body = r.read()
                    seen = json.loads(body)["headers"]
                    v = [val for n, val in seen if n == "x-script-version"]
                    with lock:
                        if r.status == 200 and v and v == [r.getheader("x-script-version")]:
                            results["ok"] += 1
                            results["versions"].add(v[0])
                        else:
                            results["failed"].append((r.status, v, r.getheader("x-script-version")))
                except Exception as e:  # a reset or a refused connection is a failure
                    with lock:
                        results["failed"].append(repr(e))
                    conn = None

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            start_version = self.gh.config_version()
            for v in range(2, 7):
                time.sleep(0.3)
                self.gh.apply(self.config(version_script(v)))
                self.gh.wait_version(start_version + v - 1)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["ok"], 50)
        self.assertIn("6", results["versions"])
        self.assertGreaterEqual(len(results["versions"]), 3)


if __name__ == "__main__":
    unittest.main()
