#!/usr/bin/python3
"""Runs one client once and appends one JSON record to a results file.

    measure.py --record FILE [--set KEY=VALUE]... [options] -- CMD [ARG]...

The record holds every --set pair plus what was measured:
  wall        seconds from spawning CMD until it exited (monotonic clock), or
              for wrk and h2load (--parse) the duration they report
  user, sys   CPU seconds of CMD and its waited-for children (wait4 rusage,
              the figures /usr/bin/time prints as %U and %S)
  maxrss_kib  peak resident set size in KiB (ru_maxrss, /usr/bin/time %M)
  requests    completed requests: records in the output, or wrk's/h2load's
              own count
  bytes       body bytes: the sum of the sizes in the output, or the tool's
  failures    records that are failures or have the wrong size
  first_byte  (with --first-byte) seconds from spawn to the first byte on
              CMD's standard output, read through a pipe
  ok          exit status 0, no failures, and --expect records if given
  syscalls    (with --strace FILE) {name: calls} from `strace -f -c`, which
              then runs CMD; "total" is the sum
  threads     (with --threads) the most threads CMD had at once, from
              /proc/PID/task sampled every millisecond (a taskset in front
              execs CMD, so the pid is CMD's)

A record line is "URL<TAB>BYTES" (uvfetch's TSV, and what the peers and curl
-w print); anything else in the second field counts as a failure.

With --parse json (uvfetch --json, workload 8) the record instead holds
  requests    URLs answered 200 (with --size, of that size)
  failures    the others (errors and other statuses, 503s among them)
  statuses    {status: URLs}
  lat_p50, lat_p99
              seconds, over the 200 answers' total_time (the last attempt)
  hosts       {host:port: {"n": URLs answered 200, "end": seconds from
              uvfetch_init to the last of their completions, "lat_p50",
              "lat_p99"}}
and --server-stats NAME=URL (repeatable) GETs URL/stats/reset before the
run and URL/stats after it (bench/delayserver.c), kept as "server_NAME".
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def number(s):
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            return s


def seconds(value, unit):
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def parse_wrk(text, rec):
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),\s*([\d.]+)(\w*?)B read", text)
    if not m:
        return "cannot parse wrk output"
    rec["requests"] = int(m.group(1))
    rec["wall"] = seconds(m.group(2), m.group(3))
    rec["bytes"] = float(m.group(4)) * UNITS[(m.group(5) or "") + "B"]
    fails = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        fails += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        fails += sum(int(x) for x in m.groups())
    rec["failures"] = fails
    return None


def parse_h2load(text, rec):
    m = re.search(r"finished in ([\d.]+)(us|ms|s|m|h),", text)
    r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    d = re.search(r"traffic: .*?\((\d+)\) data", text)
    s = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not (m and r):
        return "cannot parse h2load output"
    rec["wall"] = seconds(m.group(1), m.group(2))
    rec["requests"] = int(r.group(4))
    rec["failures"] = int(r.group(1)) - int(r.group(4))
    if s:
        rec["failures"] += int(s.group(3)) + int(s.group(4))
    if d:
        rec["bytes"] = int(d.group(1))
    return None


def parse_strace(path):
    """The summary table of strace -c: {syscall: calls}, plus "total"."""
    calls = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 5 or not parts[0][0].isdigit():
                    continue
                try:
                    n = int(parts[3])
                except ValueError:
                    continue
                calls[parts[-1]] = n
    except OSError:
        pass
    return calls


def check_records(lines, size, rec):
    n = fails = total = 0
    for line in lines:
        if not line:
            continue
        n += 1
        parts = line.split(b"\t")
        try:
            b = int(parts[1])
        except (IndexError, ValueError):
            fails += 1
            continue
        if size is not None and b != size:
            fails += 1
            continue
        total += b
    rec["requests"] = n - fails
    rec["records"] = n
    rec["failures"] = fails
    rec["bytes"] = total


def quantile(values, q):
    """The q-quantile of sorted values (nearest rank); None when empty."""
    if not values:
        return None
    i = min(len(values) - 1, max(0, int(q * len(values))))
    return values[i]


def check_json(path, size, rec):
    """uvfetch --json records: what came back, how long it took, per host."""
    n = ok = 0
    statuses = {}
    lat = []
    hosts = {}
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            try:
                r = json.loads(line)
            except ValueError:
                continue
            code = r.get("http_code") or 0
            statuses[str(code)] = statuses.get(str(code), 0) + 1
            if not r.get("ok") or code != 200:
                continue
            if size is not None and r.get("bytes") != size:
                continue
            ok += 1
            t = float(r.get("total_time") or 0)
            lat.append(t)
            url = r.get("url", "")
            host = url.split("/")[2] if url.count("/") >= 2 else url
            h = hosts.setdefault(host, {"n": 0, "end": 0.0, "lat": []})
            h["n"] += 1
            h["end"] = max(h["end"], float(r.get("start_time") or 0) + t)
            h["lat"].append(t)
    lat.sort()
    rec["records"] = n
    rec["requests"] = ok
    rec["failures"] = n - ok
    rec["statuses"] = statuses
    rec["lat_p50"] = quantile(lat, 0.5)
    rec["lat_p99"] = quantile(lat, 0.99)
    for h in hosts.values():
        h["lat"].sort()
        h["lat_p50"] = quantile(h["lat"], 0.5)
        h["lat_p99"] = quantile(h["lat"], 0.99)
        del h["lat"]
    rec["hosts"] = hosts


def server_get(base, path):
    """GET base + path from a loopback server, no proxy; the JSON, or None."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base + path, timeout=10) as resp:
            return json.loads(resp.read().decode())
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--record", required=True, help="JSON Lines file to append to")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--stdout", default=os.devnull, help="where CMD's output goes")
    ap.add_argument("--stdin", help="file for CMD's standard input")
    ap.add_argument("--stdin-cmd", help="shell command whose output is CMD's input")
    ap.add_argument("--expect", type=int, help="records expected")
    ap.add_argument("--size", type=int, help="body bytes expected in each record")
    ap.add_argument("--parse", choices=["records", "json", "wrk", "h2load", "none"],
                    default="records")
    ap.add_argument("--server-stats", action="append", default=[], metavar="NAME=URL")
    ap.add_argument("--first-byte", action="store_true")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--strace", metavar="FILE", help="run CMD under strace -f -c -o FILE")
    ap.add_argument("--threads", action="store_true", help="sample CMD's thread count")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")

    rec = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        rec[k] = number(v)
    rec["cmd"] = " ".join(cmd)
    try:
        with open("/proc/loadavg") as f:
            rec["load1"] = float(f.read().split()[0])  # others on the machine?
    except (OSError, ValueError):
        pass
    if a.strace:
        # strace goes after taskset, so it shares the client's core.
        at = 3 if cmd[0] == "taskset" else 0
        cmd = cmd[:at] + ["strace", "-f", "-c", "-o", a.strace, "--"] + cmd[at:]

    servers = []
    for kv in a.server_stats:
        name, _, base = kv.partition("=")
        servers.append((name, base))
        server_get(base, "/stats/reset")

    feeder = None
    stdin = subprocess.DEVNULL
    if a.stdin_cmd:
        feeder = subprocess.Popen(["/bin/sh", "-c", a.stdin_cmd], stdout=subprocess.PIPE)
        stdin = feeder.stdout
    elif a.stdin:
        stdin = open(a.stdin, "rb")

    piped = a.first_byte or a.parse in ("wrk", "h2load")
    out = subprocess.PIPE if piped else open(a.stdout, "wb")
    timed_out = []

    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=subprocess.PIPE)
    if feeder is not None:
        feeder.stdout.close()  # the client holds the pipe now

    def kill():
        timed_out.append(True)
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    peak_threads = [0]
    sampler = None
    if a.threads:
        task_dir = "/proc/%d/task" % p.pid

        def sample():
            # Until wait4 reaps it, the pid stays CMD's, zombie or not.
            while p.returncode is None:
                try:
                    n = len(os.listdir(task_dir))
                except OSError:
                    break
                peak_threads[0] = max(peak_threads[0], n)
                time.sleep(0.001)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

    timer = threading.Timer(a.timeout, kill)
    timer.daemon = True
    timer.start()

    # stderr is drained by a thread so that a chatty client cannot block.
    err_chunks = []
    et = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()), daemon=True)
    et.start()

    first = None
    captured = []
    nl = 0
    fails = 0
    if piped:
        fd = p.stdout.fileno()
        tail = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            if first is None:
                first = time.monotonic() - t0
            if a.first_byte:
                nl += chunk.count(b"\n")
                # a failure record has "-" as its second field
                fails += (tail + chunk).count(b"\t-\t") - tail.count(b"\t-\t")
                tail = chunk[-8:]
            else:
                captured.append(chunk)

    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    if sampler is not None:
        sampler.join(1)
        rec["threads"] = peak_threads[0]
    et.join(5)
    if feeder is not None:
        feeder.kill()
        feeder.wait()

    rec.update(
        wall=wall,
        user=ru.ru_utime,
        sys=ru.ru_stime,
        maxrss_kib=ru.ru_maxrss,
        rc=p.returncode,
        timeout=bool(timed_out),
    )
    problem = None
    if a.first_byte:
        rec["first_byte"] = first
        rec["records"] = nl
        rec["failures"] = fails
        rec["requests"] = nl - fails
    elif a.parse == "wrk":
        problem = parse_wrk(b"".join(captured).decode(errors="replace"), rec)
    elif a.parse == "h2load":
        problem = parse_h2load(b"".join(captured).decode(errors="replace"), rec)
    elif a.parse == "records":
        if a.stdout != os.devnull:
            with open(a.stdout, "rb") as f:
                check_records(f.read().split(b"\n"), a.size, rec)
    elif a.parse == "json":
        check_json(a.stdout, a.size, rec)
    for name, base in servers:
        rec["server_" + name] = server_get(base, "/stats")
    if a.strace:
        rec["syscalls"] = parse_strace(a.strace)
    ok = p.returncode == 0 and not timed_out and problem is None
    if a.parse == "json":
        # Refused URLs are what workload 8's case c measures, not a failed
        # run: the run counts if every URL came back with some answer.
        ok = not timed_out and problem is None and p.returncode in (0, 1)
        if a.expect is not None and rec.get("records") != a.expect:
            ok = False
    elif rec.get("failures"):
        ok = False
    if a.parse != "json" and a.expect is not None and rec.get("requests") != a.expect:
        ok = False
    rec["ok"] = ok
    stderr = (err_chunks[0] if err_chunks else b"").decode(errors="replace").strip()
    if not ok:
        why = problem or ""
        if timed_out:
            why += " timed out"
        if stderr:
            why += " " + stderr.splitlines()[-1][:300]
        rec["error"] = why.strip()
    with open(a.record, "a") as f:
        f.write(json.dumps(rec) + "\n")
    # One short line for the log.
    req = rec.get("requests")
    rate = (req / rec["wall"]) if req and rec["wall"] > 0 else 0
    print(
        "  %-10s %-8s n=%-8s wall=%7.3fs rate=%9.0f/s cpu=%6.2fs rss=%7.1fMiB%s%s"
        % (
            rec.get("client", "?"),
            rec.get("case", ""),
            rec.get("n", req),
            rec["wall"],
            rate,
            rec["user"] + rec["sys"],
            rec["maxrss_kib"] / 1024.0,
            "" if first is None or not a.first_byte else " first=%.1fms" % (first * 1000),
            "" if ok else "  FAILED: " + rec.get("error", "")[:200],
        ),
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
