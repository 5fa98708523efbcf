"""Processes the harness starts, and how their CPU time is read.

Every server (upstream, proxies) is started through `Proc`: pinned to one CPU with
`taskset -c`, in its own session (so its process group id is its pid and a whole nginx
master+workers tree can be stopped with one killpg), with stdout/stderr in a log file in the
work directory. Each started group is appended to WORK/pids as "pgid starttime"; run.sh's EXIT
trap kills what is still alive from that list, so a hard-killed harness leaves nothing behind.

CPU accounting: `CpuSnapshot` sums utime+stime (field 14+15 of /proc/PID/stat, clock ticks)
over a process and all its descendants -- for nginx the master plus its worker(s), for
HAProxy and Gatehouse the single process (the process-level line already includes all of its
threads, live and exited). A second, finer clock is read as a cross-check: the sum over every
thread of /proc/PID/task/TID/schedstat's first field (nanoseconds on CPU). Both are reported;
the tick-based figure is the contract's.
"""

import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

_started = []  # Proc objects still running, for cleanup()
_pidfile = None


def set_pidfile(path):
    global _pidfile
    _pidfile = path
    with open(path, "w"):
        pass


def _write_pidfile():
    if not _pidfile:
        return
    with open(_pidfile, "w") as f:
        for p in _started:
            f.write(f"{p.pid} {p.starttime}\n")


def read_stat(pid):
    """Fields of /proc/PID/stat after the comm, as a list (index 0 is field 3, 'state')."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def starttime(pid):
    return read_stat(pid)[19]  # field 22


def children_map():
    """ppid -> [pid] for every process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(read_stat(name)[1])  # field 4
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(name))
    return out


def descendants(pid):
    """pid and all its descendants that exist now."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


class CpuSnapshot:
    """CPU time of a process tree (or of several: a two-hop chain) at one instant. `b - a`
    gives the consumption in between."""

    def __init__(self, root_pids):
        self.t = time.monotonic()
        self.procs = {}  # pid -> (starttime, ticks, sched_ns)
        roots = [root_pids] if isinstance(root_pids, int) else list(root_pids)
        for pid in sorted({p for r in roots for p in descendants(r)}):
            try:
                st = read_stat(pid)
                ticks = int(st[11]) + int(st[12])  # fields 14 utime, 15 stime
                ns = 0
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        ns += int(f.read().split()[0])
                self.procs[pid] = (st[19], ticks, ns)
            except (OSError, ValueError, IndexError):
                continue

    def __sub__(self, earlier):
        """Consumption between `earlier` and self: dict with ticks, us, sched_us, notes."""
        ticks = ns = 0
        notes = []
        for pid, (start, t, n) in self.procs.items():
            prev = earlier.procs.get(pid)
            if prev and prev[0] == start:
                ticks += t - prev[1]
                ns += n - prev[2]
            else:  # process born during the window: all of its time is in the window
                ticks += t
                ns += n
                notes.append(f"pid {pid} started during the window")
        for pid in earlier.procs:
            if pid not in self.procs:
                notes.append(f"pid {pid} exited during the window (its last CPU time is lost)")
        return {
            "ticks": ticks,
            "us": ticks * 1e6 / CLK_TCK,
            "sched_us": ns / 1e3,
            "pids": sorted(self.procs),
            "notes": notes,
        }


def cpu_busy_ticks(cpu):
    """(busy, total) clock ticks of one CPU from /proc/stat, to see foreign load on it."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]  # idle + iowait
                total = sum(v[:8])  # guest time is already inside user
                return total - idle, total
    raise RuntimeError(f"cpu{cpu} not in /proc/stat")


class Proc:
    """One started server (or process tree), pinned to a CPU, logged to a file."""

    def __init__(self, name, argv, cpu, log_path, cwd=None, env=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        cmd = ["taskset", "-c", str(cpu)] + list(argv) if cpu is not None else list(argv)
        self.argv = cmd
        self.popen = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=cwd, env=env, start_new_session=True)
        self.pid = self.popen.pid
        # taskset execs the program, so the pid is the server's own; its start time is fixed.
        try:
            self.starttime = starttime(self.pid)
        except OSError:
            self.starttime = "0"
        _started.append(self)
        _write_pidfile()

    def alive(self):
        return self.popen.poll() is None

    def roots(self):
        """Root pids whose process trees are this server's CPU (see CpuSnapshot)."""
        return [self.pid]

    def affinity(self):
        """CPU set of every thread of every process in the tree (to check that pinning held;
        a server that sets its own thread affinity would escape taskset)."""
        out = {}
        for pid in descendants(self.pid):
            try:
                tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                continue
            for tid in tids:
                try:
                    out[tid] = sorted(os.sched_getaffinity(tid))
                except OSError:
                    pass
        return out

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self in _started:
            _started.remove(self)
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        # A group member may outlive the leader (e.g. an nginx worker finishing up).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()
        _write_pidfile()


class ProcGroup:
    """Several started processes that form one server under test (the two hops of a mesh
    chain): alive while all are, CPU and affinity summed over all."""

    def __init__(self, procs):
        self.procs = list(procs)
        self.pid = self.procs[0].pid

    def alive(self):
        return all(p.alive() for p in self.procs)

    def roots(self):
        return [p.pid for p in self.procs]

    def affinity(self):
        out = {}
        for p in self.procs:
            out.update(p.affinity())
        return out

    def log_tail(self, n=20):
        return "\n".join(f"--- {p.name} ---\n{p.log_tail(n)}" for p in self.procs)


class _Transient:
    """A short-lived command (wrk) listed in the pidfile while it runs."""

    def __init__(self, popen):
        self.popen = popen
        self.pid = popen.pid
        try:
            self.starttime = starttime(self.pid)
        except OSError:
            self.starttime = "0"

    def stop(self, timeout=3.0):
        if self in _started:
            _started.remove(self)
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()
        _write_pidfile()


def run_tracked(cmd, timeout, env=None):
    """Run a command to completion in its own process group, killed if we are interrupted.
    `env`: extra environment variables. Returns (exit code, combined stdout+stderr bytes)."""
    full_env = dict(os.environ, **env) if env else None
    popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True, env=full_env)
    t = _Transient(popen)
    _started.append(t)
    _write_pidfile()
    try:
        out, _ = popen.communicate(timeout=timeout)
        return popen.returncode, out
    except subprocess.TimeoutExpired:
        t.stop()
        out, _ = popen.communicate()
        return -1, (out or b"") + f"\n(killed after {timeout:.0f} s)\n".encode()
    finally:
        t.stop()


def cleanup():
    """Stop everything still running (called at exit, also on signals)."""
    for p in list(reversed(_started)):
        try:
            p.stop(timeout=3.0)
        except Exception:  # keep going: the rest must still be stopped
            pass


def wait_port(port, proc=None, timeout=10.0, host="127.0.0.1"):
    """Wait until something accepts on host:port. False on timeout or if proc died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def port_free(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return False
    except OSError:
        return True
