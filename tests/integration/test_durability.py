"""Durability of the configuration database against the real binary.

SIGKILL in the middle of applying large versions, hundreds of times: after every kill the
database opens (with the sqlite3 module and with gatehouse itself), passes quick_check, and its
active version is exactly the old set or exactly the new one, never a mix, with its audit entry.
And a corrupt database is refused at start with a message naming the file, and can be replaced
from a backup.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, free_port

RESOURCES = 2000   # per version
KILLS = 200        # at least this many applies killed mid-way
SEGMENT = 45       # iterations per data dir: a fresh one bounds the file (and check) size


def version_set(generation):
    """The Service set of generation g: two key ranges that overlap (even and odd g), and every
    body carries g (the endpoint port), so each generation differs from the one before in every
    resource and in which resources exist."""
    lo = 0 if generation % 2 == 0 else RESOURCES // 4
    port = 1000 + generation
    docs = []
    for i in range(lo, lo + RESOURCES):
        docs.append(f"apiVersion: gatehouse.dev/v1\nkind: Service\n"
                    f"metadata: {{name: s-{i}, namespace: ns-{i % 7}}}\n"
                    f"spec: {{endpoints: [{{address: 10.0.{i // 250}.{i % 250 + 1}, "
                    f"port: {port}}}]}}\n")
    return "---\n".join(docs), {f"ns-{i % 7}/s-{i}" for i in range(lo, lo + RESOURCES)}


def netstring(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b + b","


def check_database(path):
    """Reads the active version behind gatehouse's back and checks that it is whole: its hash
    (core/store/content_hash.h) matches its resources, each body matches its hash, and its audit
    entry is there. Returns (active id, generation, set of "ns/name")."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        active, vhash, count = db.execute(
            "SELECT id, hash, resource_count FROM versions ORDER BY id DESC LIMIT 1").fetchone()
        rows = db.execute(
            "SELECT e.kind, e.namespace, e.name, b.hash, b.body FROM version_chunks v"
            " JOIN chunk_entries e ON e.chunk_id = v.chunk_id JOIN bodies b ON b.id = e.body_id"
            " WHERE v.version_id = ? ORDER BY v.seq, e.kind, e.namespace, e.name",
            (active,)).fetchall()
        assert len(rows) == count, f"version {active}: {len(rows)} of {count} resources"
        keys = [(k.encode(), n.encode(), m.encode()) for k, n, m, _, _ in rows]
        assert keys == sorted(keys), "entries out of order"
        h = hashlib.sha256(b"gatehouse-version-1\n")
        generations = set()
        names = set()
        for kind, ns, name, bhash, body in rows:
            assert hashlib.sha256(body.encode()).hexdigest() == bhash, f"{name}: body hash"
            h.update(netstring(kind) + netstring(ns) + netstring(name) + netstring(bhash))
            doc = json.loads(body)
            generations.add(doc["spec"]["endpoints"][0]["port"] - 1000)
            names.add(f"{ns}/{name}")
        assert h.hexdigest() == vhash, f"version {active}: hash does not match its resources"
        assert len(generations) == 1, f"version {active} mixes generations {sorted(generations)}"
        (after,) = db.execute("SELECT max(version_after) FROM audit").fetchone()
        assert after == active, f"version {active} has no audit entry (newest is for {after})"
        return active, generations.pop(), names
    finally:
        db.close()


class KillDuringApplyTest(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="gh-durability-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def apply(self, data_dir, path):
        return subprocess.Popen([BINARY, "apply", "-f", path, "--prune", "-m", "durability",
                                 "--data-dir", data_dir],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def test_sigkill_while_applying_never_leaves_a_mix(self):
        rng = random.Random(int(os.environ.get("GH_DURABILITY_SEED", "0")) or time.time_ns())
        files = {}

        def file_for(g):
            if g not in files:
                text, names = version_set(g)
                path = os.path.join(self.root, f"gen-{g}.yaml")
                with open(path, "w") as f:
                    f.write(text)
                files[g] = (path, names)
            return files[g]

        kills = old_kept = new_committed = finished = 0
        iteration = 0
        data_dir = None
        committed = None   # generation of the active version
        delay = None       # where kills aim: near the commit, found as we go
        deadline = time.monotonic() + 150
        while kills < KILLS:
            self.assertLess(time.monotonic(), deadline, f"only {kills} kills in time")
            if iteration % SEGMENT == 0:
                # A fresh data dir, with one version applied whole to start from.
                data_dir = os.path.join(self.root, f"data-{iteration}")
                g = iteration
                t0 = time.monotonic()
                p = self.apply(data_dir, file_for(g)[0])
                _, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                if delay is None:
                    delay = 0.8 * (time.monotonic() - t0)
                committed = g
                iteration += 1
                continue
            g = iteration
            path, _ = file_for(g)
            # Files for the next generation are written before the clock starts.
            file_for(g + 1)
            wait = delay * rng.uniform(0.6, 1.4) if rng.random() < 0.9 else rng.uniform(0, delay)
            p = self.apply(data_dir, path)
            time.sleep(wait)
            p.send_signal(signal.SIGKILL)
            _, err = p.communicate(timeout=60)
            if p.returncode == -signal.SIGKILL:
                kills += 1
            else:
                self.assertEqual(p.returncode, 0, err)
                finished += 1

            active, gen, names = check_database(os.path.join(data_dir, "config.db"))
            self.assertIn(gen, (committed, g), f"iteration {iteration}: generation {gen}")
            self.assertEqual(names, file_for(gen)[1], f"iteration {iteration}: not one whole set")
            if p.returncode == -signal.SIGKILL:
                if gen == g:
                    new_committed += 1
                    delay *= 0.97   # the commit came before the kill: aim earlier
                else:
                    old_kept += 1
                    delay *= 1.03
            else:
                self.assertEqual(gen, g, "an apply that finished did not commit")
                delay *= 0.98  # too late altogether
            committed = gen
            # gatehouse itself opens it (WAL recovery, quick_check, schema) and agrees.
            if iteration % 5 == 0:
                r = subprocess.run([BINARY, "history", "--limit", "1", "-o", "json",
                                    "--data-dir", data_dir], capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout)["active"], active)
            iteration += 1

        print(f"\ndurability: {kills} kills ({old_kept} kept the old version, {new_committed} "
              f"had committed the new one), {finished} applies finished before their kill, "
              f"{iteration} iterations", flush=True)
        # Kills landed on both sides of the commit, so some landed in it.
        self.assertGreaterEqual(old_kept, 20)
        self.assertGreaterEqual(new_committed, 20)


class CorruptDatabaseTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-corrupt-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args):
        return subprocess.run([BINARY, *args, "--data-dir", self.data], capture_output=True,
                              text=True, timeout=60)

    def test_corrupt_database_is_refused_at_start_and_recovered_from_a_backup(self):
        text, _ = version_set(1)
        path = os.path.join(self.dir, "set.yaml")
        with open(path, "w") as f:
            f.write(text)
        self.assertEqual(self.cli("apply", "-f", path).returncode, 0)
        backup = os.path.join(self.dir, "backup.db")
        self.assertEqual(self.cli("backup", backup).returncode, 0)
        db = os.path.join(self.data, "config.db")
        self.assertFalse(os.path.exists(db + "-wal"), "the last close checkpoints the log")
        size = os.path.getsize(db)
        self.assertGreater(size, 64 * 4096)
        with open(db, "r+b") as f:
            f.seek(size // 2)
            f.write(b"\xa5" * (3 * 4096))

        admin = free_port()
        r = subprocess.run([BINARY, "run", "--data-dir", self.data, "--workers", "1",
                            "--admin", f"127.0.0.1:{admin}"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        self.assertIn(f"{db}: database is corrupt: ", out)
        self.assertNotIn("serving config version", out)
        # Every command that opens it says the same and exits 3.
        for args in (["get", "services"], ["history"], ["apply", "-f", path],
                     ["backup", os.path.join(self.dir, "b2.db")]):
            r = self.cli(*args)
            self.assertEqual(r.returncode, 3, args)
            self.assertIn(f"gatehouse: {db}: database is corrupt: ", r.stderr)
        self.assertEqual(self.cli("restore", backup).returncode, 3)  # needs the database too

        # Recovery: the whole database from the backup, then the server starts on it.
        r = self.cli("restore", backup, "--replace")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cli("history").returncode, 0)
        proc = subprocess.Popen([BINARY, "run", "--data-dir", self.data, "--workers", "1",
                                 "--admin", f"127.0.0.1:{admin}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            import urllib.request
            deadline = time.monotonic() + 10
            body = None
            while time.monotonic() < deadline and body is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/ready",
                                                timeout=1) as resp:
                        body = resp.read().decode()
                except OSError:
                    time.sleep(0.05)
            self.assertEqual(body, "ready: version 1\n")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
