"""Versions, audit log, backups and the running version, against the real binary.

history / rollback / diff / delete round trips; optimistic concurrency (a write based on an old
version is refused unless forced, also between racing processes); an audit entry for every
change path, and an audit log nothing can edit; backup while a server runs and applies, and
both kinds of restore; and what the server reports about the version it actually runs,
including a version it refused while the previous one kept answering.
"""

import concurrent.futures
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import unittest

from harness import BINARY, Gatehouse, free_port, wait_for


# --- documents ----------------------------------------------------------------------------


def listener(name, port):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: {name}}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
"""


def direct(name, body, namespace="default"):
    """A Service that answers by itself: no upstream needed to see which version serves."""
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  directResponse: {{status: 200, body: "{body}"}}
"""


def route(name, parents, backends, hostnames=None):
    """`backends` is a list of (service, weight)."""
    refs = ", ".join(f"{{name: {s}, weight: {w}}}" for s, w in backends)
    parent_refs = ", ".join(f"{{name: {p}}}" for p in parents)
    hosts = f"\n  hostnames: [{', '.join(hostnames)}]" if hostnames else ""
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{parent_refs}]{hosts}
  rules:
    - backendRefs: [{refs}]
"""


def fetch(port, path="/"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        c.request("GET", path, headers={"Host": "a.example.com"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def served_body(db_path, version=None):
    """The directResponse body of Service `blue` in a database's version (default: active),
    read with the sqlite3 module: what a server running that version answers."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if version is None:
            version = db.execute("SELECT max(id) FROM versions").fetchone()[0]
        (body,) = db.execute(
            "SELECT b.body FROM version_chunks v JOIN chunk_entries e ON e.chunk_id = v.chunk_id"
            " JOIN bodies b ON b.id = e.body_id"
            " WHERE v.version_id = ? AND e.kind = 'Service' AND e.name = 'blue'",
            (version,)).fetchone()
        return json.loads(body)["spec"]["directResponse"]["body"].encode()
    finally:
        db.close()


def body_at(port):
    try:
        return fetch(port)[1]
    except OSError:
        return None


class VersionsBase(unittest.TestCase):

    def setUp(self):
        self.gh = Gatehouse(workers=1)
        self.port = free_port()

    def tearDown(self):
        self.gh.cleanup()

    def config(self, weight=90, body="one", hostnames=("a.example.com",)):
        return (listener("edge", self.port) + direct("blue", body) + direct("green", "two")
                + route("main", ["edge"], [("blue", weight), ("green", 100 - weight)],
                        list(hostnames)))

    def history(self, *extra):
        r = self.gh.cli("history", "-o", "json", "--limit", "0", *extra, check=True)
        return json.loads(r.stdout)

    def audit(self):
        return json.loads(self.gh.cli("audit", "-o", "json", "--limit", "0", check=True).stdout)

    def dump(self, fmt="yaml"):
        return [self.gh.cli("get", k, "-o", fmt, check=True).stdout
                for k in ("listeners", "services", "httproutes")]

    def write(self, name, text):
        path = os.path.join(self.gh.data_dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


# --- history, rollback, diff, delete --------------------------------------------------------


class HistoryTest(VersionsBase):

    def test_history_lists_versions_newest_first(self):
        self.gh.apply(self.config(), "-m", "first cut")
        self.gh.apply(self.config(weight=80), "-m", "shift 10%")
        self.gh.apply(direct("extra", "x"), "-m", "one more")
        h = self.history()
        self.assertEqual(h["active"], 3)
        self.assertIsNone(h["running"])
        self.assertEqual([v["id"] for v in h["versions"]], [3, 2, 1])
        self.assertEqual([v["message"] for v in h["versions"]],
                         ["one more", "shift 10%", "first cut"])
        self.assertEqual([v["resources"] for v in h["versions"]], [5, 4, 4])
        self.assertEqual({v["author"] for v in h["versions"]}, {os_user()})
        self.assertEqual(len({v["hash"] for v in h["versions"]}), 3)

        table = self.gh.cli("history", check=True).stdout
        self.assertIn("active version 3; no server is running", table)
        lines = [line for line in table.splitlines() if "first cut" in line]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0].split()[0], "1")
        limited = self.gh.cli("history", "--limit", "1", check=True).stdout
        self.assertIn("one more", limited)
        self.assertNotIn("first cut", limited)
        self.assertIn("2 older versions not shown", limited)

    def test_rollback_restores_content_as_a_new_version(self):
        self.gh.apply(self.config(), "-m", "good")
        good = self.dump()
        self.gh.apply(self.config(weight=10, body="bad", hostnames=("b.example.com",)))
        self.gh.apply(direct("extra", "x"))
        self.assertNotEqual(self.dump(), good)

        r = self.gh.cli("rollback", "1", "--dry-run", check=True)
        self.assertIn("- Service/default/extra", r.stdout)
        self.assertEqual(self.history()["active"], 3)  # a dry run stores nothing

        r = self.gh.cli("rollback", "1", check=True)
        self.assertIn("rolled back to version 1 as version 4", r.stdout)
        self.assertIn("spec.rules[0].backendRefs[0].weight: 10 -> 90", r.stdout)
        self.assertIn('spec.hostnames[0]: "b.example.com" -> "a.example.com"', r.stdout)
        self.assertIn("- Service/default/extra", r.stdout)
        h = self.history()
        self.assertEqual(h["active"], 4)
        by_id = {v["id"]: v for v in h["versions"]}
        self.assertEqual(by_id[4]["hash"], by_id[1]["hash"])
        self.assertEqual(by_id[4]["message"], "rollback to version 1")
        self.assertEqual(self.dump(), good)
        # History keeps everything, including what was rolled back over.
        self.assertEqual(sorted(by_id), [1, 2, 3, 4])
        # Rolling back to what is active is no change; an unknown version is a problem.
        self.assertIn("no change", self.gh.cli("rollback", "4", check=True).stdout)
        r = self.gh.cli("rollback", "99")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no version 99", r.stderr)
        self.assertEqual(self.gh.cli("rollback", "abc").returncode, 2)
        self.assertEqual(self.history()["active"], 4)

    def test_diff_shows_fields_for_files_and_versions(self):
        self.gh.apply(self.config())
        changed = self.write("changed.yaml", self.config(weight=80, hostnames=(
            "z.example.com", "a.example.com")))
        r = self.gh.cli("diff", "-f", changed, check=True)
        self.assertIn("version 1 -> files: 0 created, 1 configured, 3 unchanged, 0 deleted",
                      r.stdout)
        self.assertIn("  ~ HTTPRoute/default/main\n", r.stdout)
        self.assertIn("      spec.hostnames[0]: + \"z.example.com\"\n", r.stdout)
        self.assertIn("      spec.rules[0].backendRefs[0].weight: 90 -> 80\n", r.stdout)
        self.assertIn("      spec.rules[0].backendRefs[1].weight: 10 -> 20\n", r.stdout)
        self.assertEqual(self.gh.cli("diff", "-f", changed, "--exit-code").returncode, 1)
        # apply --dry-run shows the same diff and stores nothing.
        dry = self.gh.apply(self.config(weight=80, hostnames=("z.example.com", "a.example.com")),
                            "--dry-run")
        self.assertIn("spec.rules[0].backendRefs[0].weight: 90 -> 80", dry.stdout)
        self.assertEqual(self.history()["active"], 1)
        # A file equal to the active version: no difference.
        same = self.write("same.yaml", self.config())
        r = self.gh.cli("diff", "-f", same, "--exit-code")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 created, 0 configured, 4 unchanged, 0 deleted", r.stdout)
        # --prune: what is not in the files would go ...
        r = self.gh.cli("diff", "-f", self.write("l.yaml", listener("edge", self.port)),
                        "--prune", check=True)
        self.assertIn("0 created, 0 configured, 1 unchanged, 3 deleted", r.stdout)
        self.assertIn("  - HTTPRoute/default/main\n", r.stdout)
        # ... and what apply would refuse is reported, not shown as a diff.
        r = self.gh.cli("diff", "-f", self.write("r.yaml", self.config()
                                                 + route("r2", ["edge"], [("nowhere", 1)])))
        self.assertEqual(r.returncode, 1)
        self.assertIn("Service default/nowhere does not exist", r.stderr)

        self.gh.cli("apply", "-f", changed, check=True)
        r = self.gh.cli("diff", "--from", "1", "--to", "2", check=True)
        self.assertIn("version 1 -> version 2", r.stdout)
        self.assertIn("spec.rules[0].backendRefs[0].weight: 90 -> 80", r.stdout)
        back = self.gh.cli("diff", "--from", "2", "--to", "1", check=True).stdout
        self.assertIn("spec.rules[0].backendRefs[0].weight: 80 -> 90", back)
        self.assertIn("spec.hostnames[0]: - \"z.example.com\"", back)
        self.assertIn("version 1 -> version 2", self.gh.cli("diff", "--from", "1",
                                                            check=True).stdout)
        self.assertEqual(self.gh.cli("diff").returncode, 2)
        self.assertEqual(self.gh.cli("diff", "--from", "1", "-f", changed).returncode, 2)
        self.assertEqual(self.gh.cli("diff", "--from", "7").returncode, 1)

    def test_delete_round_trip(self):
        self.gh.apply(self.config() + direct("spare", "s", namespace="other"))
        before = self.dump()
        # Something others refer to cannot go: the remaining configuration would be invalid.
        r = self.gh.cli("delete", "service", "green")
        self.assertEqual(r.returncode, 1)
        self.assertIn("delete Service default/green: refused", r.stderr)
        self.assertIn("Service default/green does not exist", r.stderr)
        r = self.gh.cli("delete", "listener", "edge")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Listener default/edge does not exist", r.stderr)
        self.assertEqual(self.history()["active"], 1)
        # Unknown resource or kind.
        r = self.gh.cli("delete", "service", "spare")  # it is in namespace other
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)
        self.assertEqual(self.gh.cli("delete", "widget", "x").returncode, 2)
        self.assertEqual(self.gh.cli("delete", "service").returncode, 2)

        r = self.gh.cli("delete", "service", "spare", "-n", "other", "--dry-run", check=True)
        self.assertIn("- Service/other/spare", r.stdout)
        self.assertEqual(self.history()["active"], 1)
        r = self.gh.cli("delete", "service", "spare", "-n", "other", check=True)
        self.assertIn("deleted Service other/spare in version 2", r.stdout)
        self.assertEqual(self.gh.cli("get", "service", "spare", "-n", "other").returncode, 1)
        # The route first, then what it used.
        self.gh.cli("delete", "httproute", "main", check=True)
        self.gh.cli("delete", "service", "green", check=True)
        self.assertEqual(self.history()["active"], 4)
        self.assertEqual([v["resources"] for v in self.history()["versions"]], [2, 3, 4, 5])
        # And back: rollback brings the deleted resources back exactly.
        self.gh.cli("rollback", "1", check=True)
        self.assertEqual(self.dump(), before)

    def test_get_output_round_trips_through_apply_after_changes(self):
        self.gh.apply(self.config())
        self.gh.apply(self.config(weight=70) + direct("extra", "x"))
        self.gh.cli("delete", "service", "extra", check=True)
        self.gh.cli("rollback", "2", check=True)
        for fmt in ("yaml", "json"):
            dumped = self.dump(fmt)
            paths = [self.write(f"dump-{fmt}-{i}.{fmt}", text) for i, text in enumerate(dumped)]
            args = [a for p in paths for a in ("-f", p)]
            r = self.gh.cli("apply", *args, "--prune", check=True)
            self.assertIn("no change", r.stdout)
            r = self.gh.cli("diff", *args, "--prune", "--exit-code")
            self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.history()["active"], 4)


def os_user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


# --- optimistic concurrency ---------------------------------------------------------------


class ConcurrencyTest(VersionsBase):

    def test_write_based_on_an_old_version_is_refused_unless_forced(self):
        self.gh.apply(self.config())
        self.gh.apply(self.config(weight=80))
        before = self.dump()
        stale = self.write("stale.yaml", self.config(weight=50))
        cases = [
            ("apply", ["apply", "-f", stale]),
            ("delete", ["delete", "service", "green"]),
            ("rollback", ["rollback", "1"]),
        ]
        for name, args in cases:
            r = self.gh.cli(*args, "--base-version", "1")
            self.assertEqual(r.returncode, 1, f"{name}: {r.stdout} {r.stderr}")
            self.assertIn(f"gatehouse: {name}: conflict: the change is based on version 1 but "
                          "version 2 is active", r.stderr)
            self.assertIn("--force", r.stderr)
        self.assertEqual(self.dump(), before)
        self.assertEqual(self.history()["active"], 2)
        # The right base goes in; so does a stale one with --force.
        r = self.gh.cli("apply", "-f", stale, "--base-version", "2", check=True)
        self.assertIn("applied version 3", r.stdout)
        r = self.gh.cli("rollback", "1", "--base-version", "1", "--force", check=True)
        self.assertIn("as version 4", r.stdout)
        self.assertEqual(self.gh.cli("apply", "-f", stale, "--base-version", "x").returncode, 2)

    def test_racing_writers_never_lose_an_update_silently(self):
        self.gh.apply(self.config())
        files = [self.write(f"w{i}.yaml", direct(f"svc-{i}", f"writer {i}")) for i in range(8)]

        def run(path):
            return subprocess.run([BINARY, "apply", "-f", path, "--data-dir", self.gh.data_dir],
                                  capture_output=True, text=True, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(run, files))
        ok = [r for r in results if r.returncode == 0]
        conflicts = [r for r in results if r.returncode == 1]
        self.assertEqual(len(ok) + len(conflicts), len(results),
                         [r.stderr for r in results if r.returncode not in (0, 1)])
        for r in conflicts:
            self.assertIn("conflict:", r.stderr)
        # Every success is a version of its own, built on the one before it: each holds every
        # service added by the successes before it, so none was overwritten unseen.
        h = self.history()
        self.assertEqual(h["active"], 1 + len(ok))
        self.assertEqual([v["resources"] for v in reversed(h["versions"])],
                         list(range(4, 4 + len(ok) + 1)))


# --- audit --------------------------------------------------------------------------------


class AuditTest(VersionsBase):

    def test_every_change_path_is_audited(self):
        self.gh.apply(self.config(), "-m", "first")
        self.gh.apply(self.config(weight=80) + direct("extra", "x"))
        self.gh.apply(self.config(weight=80), "--prune")
        self.gh.apply(self.config(weight=80))  # no change: no entry
        self.gh.cli("apply", "-f", self.write("bad.yaml", route("r", ["nowhere"], [("x", 1)])))
        self.gh.cli("delete", "httproute", "main", "--dry-run", check=True)  # no entry
        self.gh.cli("delete", "httproute", "main", check=True)
        self.gh.cli("rollback", "2", check=True)
        backup = os.path.join(self.gh.data_dir, "b.db")
        self.gh.cli("backup", backup, check=True)
        self.gh.cli("rollback", "1", check=True)
        self.gh.cli("restore", backup, check=True)
        self.gh.cli("apply", "-f", self.write("stale.yaml", direct("late", "l")),
                    "--base-version", "1")  # refused: no entry

        log = list(reversed(self.audit()))
        self.assertEqual([(e["action"], e["versionBefore"], e["versionAfter"]) for e in log],
                         [("apply", 0, 1), ("apply", 1, 2), ("apply", 2, 3), ("delete", 3, 4),
                          ("rollback", 4, 5), ("rollback", 5, 6), ("restore", 6, 7)])
        user = os_user()
        host = socket.gethostname()
        for e in log:
            self.assertEqual(e["actor"], user)
            self.assertRegex(e["source"], rf"^cli pid \d+ on host {host}$")
            self.assertGreater(e["timeMs"], 0)
        self.assertEqual(len({e["id"] for e in log}), len(log))
        self.assertIn("4 created", log[0]["summary"])
        self.assertIn("+ Service/default/extra", log[1]["summary"])
        self.assertTrue(log[2]["summary"].startswith("apply --prune: "))
        self.assertIn("- Service/default/extra", log[2]["summary"])
        self.assertIn("delete HTTPRoute default/main", log[3]["summary"])
        self.assertIn("rollback to version 2", log[4]["summary"])
        self.assertIn(f"restore from {backup} (version 5", log[6]["summary"])
        # The times of entries and versions agree: they are written in one transaction.
        versions = {v["id"]: v["createdAtMs"] for v in self.history()["versions"]}
        for e in log:
            self.assertEqual(e["timeMs"], versions[e["versionAfter"]])

        table = self.gh.cli("audit", "--limit", "2", check=True).stdout.splitlines()
        self.assertEqual(len(table), 3)
        self.assertTrue(table[1].split()[0] == str(log[-1]["id"]))
        self.assertIn("restore", table[1])

    def test_the_log_cannot_be_edited(self):
        self.gh.apply(self.config())
        self.gh.apply(self.config(weight=10))
        # No command takes an option to change it.
        for extra in (["--delete", "1"], ["--clear"], ["1"]):
            self.assertEqual(self.gh.cli("audit", *extra).returncode, 2)
        # Not even the sqlite3 module on the file itself.
        db = sqlite3.connect(os.path.join(self.gh.data_dir, "config.db"))
        try:
            for sql in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit",
                        "DELETE FROM audit WHERE id = 1"):
                with self.assertRaises(sqlite3.DatabaseError) as cm:
                    db.execute(sql)
                self.assertIn("append-only", str(cm.exception))
                db.rollback()
        finally:
            db.close()
        self.assertEqual(len(self.audit()), 2)


# --- backup and restore -------------------------------------------------------------------


class BackupTest(VersionsBase):

    def test_backup_while_serving_and_applying_then_restore(self):
        self.gh.apply(self.config(weight=100, body="v1"))
        self.gh.start()
        self.assertEqual(body_at(self.port), b"v1")
        # Backups taken while other processes keep applying are each a consistent database.
        stop = False

        def writer():
            n = 2
            while not stop:
                self.gh.apply(self.config(weight=100, body=f"v{n}"))
                n += 1
            return n

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(writer)
            wait_for(lambda: self.history()["active"] >= 3, 10, what="the writer to get going")
            backups = []
            for i in range(5):
                path = os.path.join(self.gh.data_dir, f"backup-{i}.db")
                r = self.gh.cli("backup", path, check=True)
                self.assertIn(f"to {path}: active version", r.stdout)
                backups.append(path)
            stop = True
            fut.result(60)
        self.gh.apply(self.config(weight=100, body="final"))
        self.gh.wait_version(self.history()["active"])
        self.assertEqual(body_at(self.port), b"final")
        for path in backups:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                self.assertEqual(db.execute("PRAGMA quick_check").fetchone()[0], "ok")
                active = db.execute("SELECT max(id) FROM versions").fetchone()[0]
                audited = db.execute("SELECT max(version_after) FROM audit").fetchone()[0]
                self.assertEqual(active, audited)  # the version and its entry, both or neither
            finally:
                db.close()

        # Restore the first backup's configuration while the server runs: a new version.
        active = self.history()["active"]
        out = subprocess.run([BINARY, "history", "-o", "json", "--data-dir", self.gh.data_dir],
                             capture_output=True, text=True).stdout
        self.assertEqual(json.loads(out)["active"], active)
        r = self.gh.cli("restore", backups[-1], check=True)
        self.assertIn(f"as version {active + 1}", r.stdout)
        restored_from = json.loads(subprocess.run(
            [BINARY, "history", "-o", "json", "--data-dir", self.gh.data_dir, "--limit", "1"],
            capture_output=True, text=True).stdout)
        self.assertIn(f"restore from {backups[-1]}", restored_from["versions"][0]["message"])
        self.gh.wait_version(active + 1)
        expected = served_body(backups[-1])
        self.assertNotIn(expected, (b"v1", b"final"))
        wait_for(lambda: body_at(self.port) == expected, 3, what="the restored version to serve")
        # --version N takes an older version of the backup.
        r = self.gh.cli("restore", backups[0], "--version", "1", check=True)
        self.assertIn("restored version 1 of", r.stdout)
        self.gh.wait_version(active + 2)
        wait_for(lambda: body_at(self.port) == b"v1", 3, what="version 1's content")
        self.assertEqual(self.gh.cli("restore", backups[0], "--version", "999").returncode, 1)
        missing = self.gh.cli("restore", os.path.join(self.gh.data_dir, "none.db"))
        self.assertEqual(missing.returncode, 3)
        self.assertIn("no such file", missing.stderr)

        # Replacing the database is refused while the server runs ...
        r = self.gh.cli("restore", backups[-1], "--replace")
        self.assertEqual(r.returncode, 3)
        self.assertIn("in use by a `gatehouse run`", r.stderr)
        self.assertEqual(body_at(self.port), b"v1")
        # ... and, with the server stopped, brings back the backup's whole history.
        self.assertEqual(self.gh.stop(), 0)
        with open(backups[-1], "rb") as f:
            original = f.read()
        r = self.gh.cli("restore", backups[-1], "--replace", check=True)
        self.assertIn("the previous database is kept as", r.stdout)
        with open(backups[-1], "rb") as f:
            self.assertEqual(f.read(), original, "restore changed the backup file")
        h = self.history()
        db = sqlite3.connect(f"file:{backups[-1]}?mode=ro", uri=True)
        backup_active = db.execute("SELECT max(id) FROM versions").fetchone()[0]
        db.close()
        self.assertEqual(h["active"], backup_active)
        log = self.audit()
        self.assertEqual(log[0]["action"], "restore")
        self.assertIn("replaced the whole database", log[0]["summary"])
        kept = [n for n in os.listdir(self.gh.data_dir) if n.startswith("config.db.replaced-")]
        self.assertEqual(len(kept), 1)
        self.gh.start()
        self.assertEqual(self.gh.config_version(), backup_active)


# --- the running version ------------------------------------------------------------------


def ready_body(gh):
    try:
        with urllib_open(f"http://127.0.0.1:{gh.admin_port}/ready") as r:
            return r.read().decode()
    except Exception as e:  # 503 and the like carry a body too
        body = getattr(e, "read", lambda: b"")()
        return body.decode()


def urllib_open(url):
    import urllib.request
    return urllib.request.urlopen(url, timeout=2)


class RunningVersionTest(VersionsBase):

    def test_history_and_ready_show_the_running_version(self):
        self.gh.apply(self.config(weight=100, body="one"))
        self.gh.start()
        self.assertEqual(ready_body(self.gh), "ready: version 1\n")
        h = self.history()
        self.assertEqual((h["active"], h["running"]), (1, 1))
        self.assertEqual(h["server"]["pid"], self.gh.proc.pid)
        self.assertTrue(h["versions"][0]["running"])
        table = self.gh.cli("history", check=True).stdout
        self.assertIn(f"the server (pid {self.gh.proc.pid} on", table)
        self.assertTrue(any(line.startswith("*  1 ") for line in table.splitlines()), table)

        self.gh.apply(self.config(weight=100, body="two"))
        self.gh.wait_version(2)
        wait_for(lambda: self.history()["running"] == 2, 3, what="history to show version 2")
        self.assertEqual(ready_body(self.gh), "ready: version 2\n")
        # A stopped server runs nothing.
        self.assertEqual(self.gh.stop(), 0)
        h = self.history()
        self.assertIsNone(h["running"])
        self.assertFalse(any(v["running"] for v in h["versions"]))
        self.assertIn("no server is running", self.gh.cli("history", check=True).stdout)

    def test_version_that_fails_to_start_is_refused_and_the_old_one_keeps_answering(self):
        self.gh.apply(self.config(weight=100, body="old"))
        self.gh.start()
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        failures = 'gatehouse_config_reloads_total{result="failure"}'
        try:
            # Valid (it passes every check apply makes), but its new listener cannot start.
            r = self.gh.apply(self.config(weight=100, body="new") + listener("second", busy)
                              + route("other", ["second"], [("blue", 1)]))
            self.assertIn("applied version 2", r.stdout)
            wait_for(lambda: self.gh.metrics()[failures] >= 1, 3, what="the refusal")
            # Reported: log, /ready, history. Counted: metrics. The old version answers.
            self.assertIn("config version 2 not applied", self.gh.logs())
            self.assertEqual(body_at(self.port), b"old")
            self.assertTrue(self.gh.ready())
            body = ready_body(self.gh)
            self.assertTrue(body.startswith("ready: version 1\nversion 2 refused: Listener "
                                            "default/second: "), body)
            self.assertIn("in use", body)
            h = self.history()
            self.assertEqual((h["active"], h["running"]), (2, 1))
            refused = {v["id"]: v["refused"] for v in h["versions"]}
            self.assertIsNone(refused[1])
            self.assertIn("Listener default/second", refused[2])
            table = self.gh.cli("history", check=True).stdout
            self.assertIn("runs version 1", table)
            self.assertIn("refused by the server: Listener default/second", table)
            self.assertEqual(self.gh.config_version(), 1)
            # A SIGHUP while the port is still busy takes the same path: refused again.
            self.gh.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: self.gh.metrics()[failures] >= 2, 3, what="the second refusal")
            self.assertEqual(body_at(self.port), b"old")
        finally:
            blocker.close()
        # Once the port is free, SIGHUP serves the version and clears the refusal.
        self.gh.proc.send_signal(signal.SIGHUP)
        self.gh.wait_version(2)
        wait_for(lambda: body_at(self.port) == b"new", 3, what="version 2 to serve")
        h = self.history()
        self.assertEqual((h["active"], h["running"]), (2, 2))
        self.assertTrue(all(v["refused"] is None for v in h["versions"]))
        self.assertEqual(ready_body(self.gh), "ready: version 2\n")
        self.assertIsNone(self.gh.proc.poll())

    def test_sighup_without_a_new_version_recompiles_the_same_version(self):
        # SIGHUP compiles the serving version again (so certificate files replaced in place are
        # read again, docs/tls.md), and creates no version: the same one keeps running.
        self.gh.apply(self.config())
        self.gh.start()
        ok = 'gatehouse_config_reloads_total{result="success"}'
        before = self.gh.metrics()[ok]
        for _ in range(3):
            self.gh.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        wait_for(lambda: self.gh.metrics()[ok] == before + 3, 5, what="three reloads")
        self.assertEqual(self.gh.config_version(), 1)
        self.assertEqual(self.history()["running"], 1)
        self.assertEqual(len(self.history()["versions"]), 1)

    def test_embedded_default_is_audited(self):
        # The first start on an empty data dir writes version 1 itself: that is a change too.
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 8080))
        except OSError:
            self.skipTest("port 8080 is busy on this machine")
        self.gh.start()
        # The first start also creates the admin account (audited too, issue 9): the
        # configuration's entry is the one that made version 1.
        entries = self.audit()
        self.assertEqual(sorted(e["action"] for e in entries), ["init", "user"])
        (entry,) = [e for e in entries if e["action"] == "init"]
        self.assertEqual((entry["actor"], entry["versionAfter"]), ("gatehouse", 1))
        self.assertRegex(entry["source"], r"^gatehouse run pid \d+ on host ")
        self.assertIn("embedded default", entry["summary"])


if __name__ == "__main__":
    unittest.main()
