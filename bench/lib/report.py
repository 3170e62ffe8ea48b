#!/usr/bin/python3
"""Turns bench/run's records into bench/results/latest.md (and the chart's
data file). Every figure is the median over the runs of that client; the
spread is the lowest and highest run.

    report.py --meta META.env --results RESULTS.jsonl --out LATEST.md
              [--chart-data CHART.dat]
"""
import argparse
import json
import math
import statistics
from collections import OrderedDict, defaultdict

CLIENT_ORDER = ["uvfetch", "curl", "requests", "aiohttp", "python", "node",
                "node-fetch", "node-undici", "wrk", "h2load"]
CLIENT_LABEL = {
    "uvfetch": "uvfetch",
    "curl": "curl -Z",
    "requests": "ThreadPool + requests",
    "aiohttp": "aiohttp + semaphore",
    "python": "uvfetch from Python (imap_unordered)",
    "node": "uvfetch from Node (fetchAll)",
    "node-fetch": "Node fetch() + N workers",
    "node-undici": "Node undici.request + N workers",
    "wrk": "wrk (ceiling)",
    "h2load": "h2load (ceiling)",
}
DELAY = 0.1  # seconds per request in workload 5


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=0, sep=True):
    if x is None:
        return "–"
    if sep:
        return f"{x:,.{nd}f}"
    return f"{x:.{nd}f}"


def verdict(ok):
    return "**PASS**" if ok else "**MISS**"


class Group:
    """The runs of one client in one case (and one -j)."""

    def __init__(self, runs):
        self.all = runs
        self.runs = [r for r in runs if r.get("ok")]
        self.failed = len(runs) - len(self.runs)
        r0 = runs[0]
        self.client = r0["client"]
        self.n = r0.get("n")
        self.j = r0.get("j")
        self.j_eff = r0.get("j_eff", self.j)

    def vals(self, f):
        out = []
        for r in self.runs:
            try:
                out.append(f(r))
            except (ZeroDivisionError, TypeError, KeyError):
                pass
        return out

    def rate_list(self):
        return self.vals(lambda r: r["requests"] / r["wall"])

    def rate(self):
        return med(self.rate_list())

    def wall(self):
        return med(self.vals(lambda r: r["wall"]))

    def walls(self):
        return self.vals(lambda r: r["wall"])

    def cpu_per_1k(self):
        return med(self.vals(lambda r: (r["user"] + r["sys"]) / r["requests"] * 1000))

    def cpu(self):
        return med(self.vals(lambda r: r["user"] + r["sys"]))

    def rss(self):
        return med(self.vals(lambda r: r["maxrss_kib"] / 1024))

    def rss_max(self):
        v = self.vals(lambda r: r["maxrss_kib"] / 1024)
        return max(v) if v else None

    def mbps_list(self):
        return self.vals(lambda r: r["bytes"] / r["wall"] / 1e6)

    def mbps(self):
        return med(self.mbps_list())

    def requests(self):
        return med(self.vals(lambda r: r["requests"]))

    def first_ms(self):
        return med(self.vals(lambda r: r["first_byte"] * 1000))


def spread(xs, nd=0):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return ""
    return f"{min(xs):,.{nd}f}–{max(xs):,.{nd}f}"


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def read_meta(path):
    """The KEY=VALUE lines bench/run writes beside its records."""
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                meta[k] = v
    return meta


def groups_by(recs, case, key=lambda r: r["client"]):
    g = OrderedDict()
    for r in recs:
        if str(r.get("case")) == case:
            g.setdefault(key(r), []).append(r)
    return {k: Group(v) for k, v in g.items()}


def ordered(gs):
    return sorted(gs.values(), key=lambda g: CLIENT_ORDER.index(g.client)
                  if g.client in CLIENT_ORDER else 99)


def label(g):
    s = CLIENT_LABEL.get(g.client, g.client)
    if g.failed:
        s += f" ({g.failed} run{'s' if g.failed > 1 else ''} FAILED)"
    return s


def number(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def load_note(recs, cases):
    loads = [r["load1"] for r in recs if str(r.get("case")) in cases and "load1" in r]
    if not loads:
        return ""
    return (f"Load average (1 min) as these runs started: median {med(loads):.1f}, "
            f"max {max(loads):.1f}.")


def cpu_note(uv, other):
    """The CPU cost per request, which other load on the machine disturbs
    less than the rate does."""
    x = ratio(other.cpu_per_1k(), uv.cpu_per_1k())
    if x is None:
        return ""
    return f" (CPU per request: {other.client} spends {x:.2f} × uvfetch's)"


class Report:
    def __init__(self, meta, recs):
        self.meta = meta
        self.recs = recs
        self.lines = []
        self.targets = []  # (workload, target, measured, ok)

    def w(self, s=""):
        self.lines.append(s)

    def target(self, wl, text, measured, ok):
        self.targets.append((wl, text, measured, ok))

    # -- request-rate workloads (1, 2, 3) --------------------------------
    def rate_table(self, case, title, note=""):
        gs = groups_by(self.recs, case)
        if not gs:
            return None
        self.w(f"### {title}")
        self.w()
        note = (note + " " + load_note(self.recs, {case})).strip()
        if note:
            self.w(note)
            self.w()
        uv = gs.get("uvfetch")
        uvr = uv.rate() if uv else None
        self.w("| client | URLs | -j | runs | req/s | spread | wall s | CPU s / 1k req "
               "| peak RSS MiB | uvfetch ÷ client |")
        self.w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for g in ordered(gs):
            n = fmt(g.n)
            if g.client == "wrk":
                n = f"{fmt(g.requests())} ¹"
            self.w(f"| {label(g)} | {n} | {g.j} | {len(g.runs)} | {fmt(g.rate())} "
                   f"| {spread(g.rate_list())} | {fmt(g.wall(), 2)} | {fmt(g.cpu_per_1k(), 3)} "
                   f"| {fmt(g.rss(), 1)} | {fmt(ratio(uvr, g.rate()), 2)} |")
        self.w()
        return gs

    def w1(self):
        gs = self.rate_table(
            "1", "Workload 1: 1 KiB files, -j 50, HTTP/1.1 keep-alive",
            "¹ wrk runs for a fixed time on one URL; its URL count is what it "
            "managed. The Python peers fetch fewer URLs (the first "
            f"{self.meta.get('py_n', '?')}) than uvfetch and curl; rates compare.")
        if not gs:
            return
        uv, cu, wr = gs.get("uvfetch"), gs.get("curl"), gs.get("wrk")
        if uv and cu:
            x = ratio(uv.rate(), cu.rate())
            self.target("1", "uvfetch rate ≥ 2.0 × curl's", f"{fmt(x, 2)} ×{cpu_note(uv, cu)}",
                        x is not None and x >= 2.0)
        if uv and wr:
            x = ratio(uv.rate(), wr.rate())
            self.target("1", "uvfetch rate ≥ 0.5 × wrk's", f"{fmt(x, 2)} ×",
                        x is not None and x >= 0.5)
        # Issue 14's and 13's: a binding against the peers of its
        # language and the command, all in workload 1's run (process wall,
        # the runtime's start-up included).
        self.binding_targets(gs, "python", "Python's imap_unordered",
                             (("requests", 20.0), ("aiohttp", 5.0)),
                             min_of_command=0.7)
        self.binding_targets(gs, "node", "Node addon",
                             (("node-fetch", 5.0), ("node-undici", 2.0)),
                             min_of_command=0.75, rss_peer="node-fetch",
                             rss_max=1 / 3)

    def binding_targets(self, gs, client, name, peers, min_of_command,
                        rss_peer=None, rss_max=None):
        """A binding's rate ≥ times × each peer's, its RSS ≤ rss_max ×
        rss_peer's, and its rate ≥ min_of_command × the command's."""
        b = gs.get(client)
        if not b:
            return
        for peer, times in peers:
            g = gs.get(peer)
            if g:
                x = ratio(b.rate(), g.rate())
                self.target("1", f"{name} ≥ {times:.0f} × "
                            f"{CLIENT_LABEL[peer]}'s rate", f"{fmt(x, 1)} ×",
                            x is not None and x >= times)
        g = gs.get(rss_peer) if rss_peer else None
        if g:
            x = ratio(b.rss(), g.rss())
            self.target("1", f"{name} RSS ≤ {rss_max:.2f} × "
                        f"{CLIENT_LABEL[rss_peer]}'s", f"{fmt(x, 2)} ×",
                        x is not None and x <= rss_max)
        uv = gs.get("uvfetch")
        if uv:
            x = ratio(b.rate(), uv.rate())
            self.target("1", f"{name} ≥ {min_of_command:.2f} × the "
                        "command's rate", f"{fmt(x, 2)} ×",
                        x is not None and x >= min_of_command)

    def w2(self):
        gs = self.rate_table(
            "2", "Workload 2: 1 KiB files, -j 50, HTTPS with HTTP/2 multiplexing",
            "uvfetch `--http2 --cacert`, curl `--http2 --cacert`, h2load `-c 1 -m 50`. "
            "requests and aiohttp speak only HTTP/1.1: they use 50 TLS connections "
            f"and fetch the first {self.meta.get('py_n', '?')} URLs.")
        if not gs:
            return
        uv, cu, h2 = gs.get("uvfetch"), gs.get("curl"), gs.get("h2load")
        if uv and cu:
            x = ratio(uv.rate(), cu.rate())
            self.target("2", "uvfetch rate ≥ 2.5 × curl's", f"{fmt(x, 2)} ×{cpu_note(uv, cu)}",
                        x is not None and x >= 2.5)
        if uv and h2:
            x = ratio(uv.rate(), h2.rate())
            self.target("2", "uvfetch rate ≥ 0.6 × h2load's", f"{fmt(x, 2)} ×",
                        x is not None and x >= 0.6)

    def w3(self):
        gs = self.rate_table(
            "3", "Workload 3: 112 KiB files, -j 50, HTTP/1.1",
            "h2load runs with `--h1 -c 50`, the same count as the others.")
        if not gs:
            return
        uv, cu = gs.get("uvfetch"), gs.get("curl")
        if uv and cu:
            x = ratio(uv.wall(), cu.wall())
            self.target("3", "uvfetch wall ≤ 0.8 × curl's",
                        f"{fmt(uv.wall(), 3)} s vs {fmt(cu.wall(), 3)} s = {fmt(x, 2)} ×",
                        x is not None and x <= 0.8)

    # -- throughput (4) ---------------------------------------------------
    def w4(self):
        any_ = False
        for case, title in (("4a", "one 256 MiB file"), ("4b", "8 × 256 MiB at once (-j 8)")):
            gs = groups_by(self.recs, case)
            if not gs:
                continue
            if not any_:
                self.w("### Workload 4: throughput, HTTP/1.1")
                self.w()
                self.w("MB/s = body bytes ÷ wall time (10⁶ bytes). The Python peers "
                       "hold each body in memory (`len(r.content)`, `await r.read()`), "
                       "as the pattern does; wall time includes interpreter start-up. "
                       + load_note(self.recs, {"4a", "4b"}))
                self.w()
                any_ = True
            self.w(f"**{title}**")
            self.w()
            uv = gs.get("uvfetch")
            self.w("| client | files | -j | runs | MB/s | spread | wall s | CPU s "
                   "| peak RSS MiB | uvfetch ÷ client |")
            self.w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
            for g in ordered(gs):
                self.w(f"| {label(g)} | {g.n} | {g.j} | {len(g.runs)} | {fmt(g.mbps())} "
                       f"| {spread(g.mbps_list())} | {fmt(g.wall(), 3)} | {fmt(g.cpu(), 3)} "
                       f"| {fmt(g.rss(), 1)} | {fmt(ratio(uv.mbps() if uv else None, g.mbps()), 2)} |")
            self.w()
            cu = gs.get("curl")
            if uv and cu:
                x = ratio(uv.mbps(), cu.mbps())
                self.target("4", f"throughput ≥ 0.95 × curl's ({title})", f"{fmt(x, 2)} ×",
                            x is not None and x >= 0.95)

    # -- latency-bound (5) ------------------------------------------------
    def w5(self):
        any_ = False
        for case, limit in (("5a", 1.10), ("5b", 1.2)):
            gs = groups_by(self.recs, case)
            if not gs:
                continue
            uv = gs.get("uvfetch")
            g0 = next(iter(gs.values()))
            ideal = math.ceil(g0.n / g0.j) * DELAY
            if not any_:
                self.w("### Workload 5: latency-bound (every answer after 100 ms)")
                self.w()
                self.w("`bench/delayserver` (libuv, one thread, keep-alive) answers each "
                       "request 100 ms after it arrives. Ideal wall = ⌈URLs ÷ j⌉ × 0.1 s. "
                       "h2load runs `--h1 -c j -n URLs`. " + load_note(self.recs, {"5a", "5b"}))
                self.w()
                any_ = True
            self.w(f"**{g0.n:,} URLs at -j {g0.j}** (ideal {ideal:.1f} s)")
            self.w()
            self.w("| client | URLs | -j | runs | wall s | spread | wall ÷ ideal | req/s "
                   "| CPU s / 1k req | peak RSS MiB |")
            self.w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
            for g in ordered(gs):
                j = str(g.j)
                if g.j_eff != g.j:
                    j = f"{g.j} → {g.j_eff} ²"
                self.w(f"| {label(g)} | {fmt(g.n)} | {j} | {len(g.runs)} | {fmt(g.wall(), 3)} "
                       f"| {spread(g.walls(), 3)} | {fmt(ratio(g.wall(), ideal), 2)} "
                       f"| {fmt(g.rate())} | {fmt(g.cpu_per_1k(), 3)} | {fmt(g.rss(), 1)} |")
            self.w()
            if case == "5b":
                if any(g.j_eff != g.j for g in gs.values()):
                    self.w("² curl 7.88 caps `--parallel-max` at 300, so it cannot reach "
                           f"-j {g0.j}; its ideal would be {math.ceil(g0.n / 300) * DELAY:.1f} s.")
                if "requests" not in gs:
                    self.w("ThreadPool(2000) + requests is left out in --quick mode "
                           "(it alone takes over a minute).")
                self.w()
            if uv:
                x = ratio(uv.wall(), ideal)
                self.target("5", f"wall ≤ {limit:.2f} × ideal at -j {g0.j}",
                            f"{fmt(uv.wall(), 3)} s = {fmt(x, 2)} ×",
                            x is not None and x <= limit)
            nd = gs.get("node")
            if nd:
                x = ratio(nd.wall(), ideal)
                self.target("5", f"Node addon wall ≤ 1.10 × ideal at -j {g0.j}",
                            f"{fmt(nd.wall(), 3)} s = {fmt(x, 2)} ×",
                            x is not None and x <= 1.10)
            py = gs.get("python")
            if py:
                x = ratio(py.wall(), ideal)
                self.target("5", f"Python's imap_unordered wall ≤ 1.10 × "
                            f"ideal at -j {g0.j}",
                            f"{fmt(py.wall(), 3)} s = {fmt(x, 2)} ×",
                            x is not None and x <= 1.10)

    # -- memory on a pipe (6) ------------------------------------------------
    def w6(self):
        gs = groups_by(self.recs, "6", key=lambda r: r["n"])
        if not gs:
            return
        self.w("### Workload 6: URLs streamed on a pipe, -j 50")
        self.w()
        self.w("`awk … | uvfetch -j 50 -i -`; first record = spawn of uvfetch until the "
               "first byte of its standard output, read through a pipe. "
               + load_note(self.recs, {"6"}))
        self.w()
        self.w("| URLs | runs | peak RSS MiB | max | wall s | req/s | first record ms |")
        self.w("|--:|--:|--:|--:|--:|--:|--:|")
        keys = sorted(gs)
        for n in keys:
            g = gs[n]
            self.w(f"| {fmt(n)}{' (FAILED runs: %d)' % g.failed if g.failed else ''} "
                   f"| {len(g.runs)} | {fmt(g.rss(), 1)} | {fmt(g.rss_max(), 1)} "
                   f"| {fmt(g.wall(), 2)} | {fmt(g.rate())} | {fmt(g.first_ms(), 1)} |")
        self.w()
        peaks = [gs[n].rss_max() for n in keys if gs[n].rss_max() is not None]
        if peaks:
            top = max(peaks)
            self.target("6", "peak RSS ≤ 16 MiB", f"{top:.1f} MiB", top <= 16)
            lo, hi = gs[keys[0]].rss(), gs[keys[-1]].rss()
            if lo and hi and len(keys) > 1:
                grow = (hi - lo) / lo
                self.target("6", f"RSS flat ({keys[0]:,} → {keys[-1]:,} URLs grows ≤ 10 %)",
                            f"{lo:.1f} → {hi:.1f} MiB ({grow * 100:+.1f} %)", grow <= 0.10)
        firsts = [x for n in keys for x in gs[n].vals(lambda r: r["first_byte"] * 1000)]
        if firsts:
            m = med(firsts)
            self.target("6", "first record < 100 ms",
                        f"{m:.1f} ms (median of {len(firsts)})", m < 100)

    # -- system calls ------------------------------------------------------------
    def sys(self):
        runs = [r for r in self.recs if r.get("case") == "sys"]
        if not runs:
            return
        by = defaultdict(list)
        for r in runs:
            by[r["client"]].append(r)
        self.w("### System calls per request (workload 1, `strace -f -c`)")
        self.w()
        self.w("Each client runs twice under strace, at a small and a larger URL count; "
               "calls per request = (calls at the larger − calls at the smaller count) ÷ "
               "(difference in requests), so start-up (imports, libraries) drops out. "
               "wrk runs for a fixed time; its figure is total calls ÷ requests.")
        self.w()
        self.w("| client | requests | calls / request | top calls per request |")
        self.w("|---|--:|--:|---|")
        uv_breakdown = None
        for c in CLIENT_ORDER:
            rs = [r for r in by.get(c, []) if r.get("syscalls")]
            if not rs:
                continue
            rs.sort(key=lambda r: r.get("requests") or 0)
            failed = any(not r.get("ok") for r in by[c])
            if len(rs) >= 2 and c != "wrk":
                a, b = rs[0], rs[-1]
                dn = (b["requests"] or 0) - (a["requests"] or 0)
                if dn <= 0:
                    continue
                names = set(a["syscalls"]) | set(b["syscalls"])
                per = {k: (b["syscalls"].get(k, 0) - a["syscalls"].get(k, 0)) / dn
                       for k in names}
                reqs = f"{a['requests']:,} → {b['requests']:,}"
            else:
                b = rs[-1]
                if not b.get("requests"):
                    continue
                per = {k: v / b["requests"] for k, v in b["syscalls"].items()}
                reqs = f"{b['requests']:,}"
            total = per.pop("total", sum(per.values()))
            top = sorted(per.items(), key=lambda kv: (-round(kv[1], 3), kv[0]))
            tops = ", ".join(f"{k} {v:.2f}" for k, v in top[:6] if v >= 0.005)
            name = CLIENT_LABEL.get(c, c) + (" (a run FAILED)" if failed else "")
            self.w(f"| {name} | {reqs} | {total:.2f} | {tops} |")
            if c == "uvfetch":
                uv_breakdown = (total, top)
        self.w()
        if uv_breakdown:
            total, top = uv_breakdown
            self.w("uvfetch, every call that happens per request (≥ 0.005):")
            self.w()
            self.w("| system call | per request |")
            self.w("|---|--:|")
            for k, v in top:
                if abs(v) >= 0.005:
                    self.w(f"| {k} | {v:.3f} |")
            self.w(f"| **total** | **{total:.2f}** |")
            self.w()
            self.target("1", "uvfetch system calls ≤ 4.5 per request", f"{total:.2f}",
                        total <= 4.5)

    # -- crawl over named hosts (7) ------------------------------------------
    def w7(self):
        m = self.meta
        py = (f"The Python peers fetch {fmt(number(m.get('py7_n')))} URLs over "
              f"{fmt(number(m.get('py7_hosts')))} hosts, the same shape; rates compare.")
        for case, title, proto in (
                ("7a", "Workload 7: a crawl over named hosts, HTTP/1.1", "HTTP/1.1"),
                ("7b", "Workload 7: the same crawl over HTTPS (HTTP/2 offered)", "HTTPS")):
            g0 = groups_by(self.recs, case).get("uvfetch")
            shape = ""
            if g0:
                shape = (f"{fmt(g0.n)} URLs, URL i on host h(i mod H).crawl.test, 5 a host, "
                         "every name through dnsmasq in the benchmark's namespace. ")
            gs = self.rate_table(case, title, shape + py)
            if not gs:
                continue
            uv, cu = gs.get("uvfetch"), gs.get("curl")
            part = [r for r in cu.all if r.get("requests")] if cu and not cu.runs else []
            if uv and part:
                # curl timed out: its rate over the URLs it finished.
                r = max(part, key=lambda r: r["requests"])
                cr = r["requests"] / r["wall"]
                x = ratio(uv.rate(), cr)
                self.w(f"curl's run failed or timed out after {r['requests']:,} URLs in "
                       f"{r['wall']:.0f} s: {cr:,.0f} URLs/s, "
                       f"{(r['user'] + r['sys']) / r['requests'] * 1000:.3f} CPU s / 1k.")
                self.w()
                self.target("7", f"uvfetch rate ≥ 3 × curl's ({proto})",
                            f"{fmt(x, 2)} × ({fmt(uv.rate())} against {fmt(cr)} URLs/s; curl "
                            f"stopped after {r['requests']:,} URLs)", x is not None and x >= 3.0)
            elif uv and cu:
                x = ratio(uv.rate(), cu.rate())
                self.target("7", f"uvfetch rate ≥ 3 × curl's ({proto})",
                            f"{fmt(x, 2)} × ({fmt(uv.rate())} against {fmt(cu.rate())} URLs/s)"
                            f"{cpu_note(uv, cu)}", x is not None and x >= 3.0)
        self.w7hosts()
        self.w7sys()
        self.w7threads()
        self.w7dns()
        self.w7rss()

    def w7hosts(self):
        gs = groups_by(self.recs, "7c", key=lambda r: (r["client"], r["hosts"]))
        if not gs:
            return
        self.w("### Workload 7: CPU per URL against the number of hosts")
        self.w()
        self.w("One URL a host (host i for URL i), -j 200, HTTP/1.1: every URL a lookup "
               "and a new connection. CPU = user + system of the client. "
               + load_note(self.recs, {"7c"}))
        self.w()
        self.w("| client | hosts | runs | CPU µs / URL | spread | × previous | req/s "
               "| wall s | peak RSS MiB |")
        self.w("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for c in CLIENT_ORDER:
            hosts = sorted(h for (cc, h) in gs if cc == c)
            prev = None
            for h in hosts:
                g = gs[(c, h)]
                per = g.vals(lambda r: (r["user"] + r["sys"]) / r["requests"] * 1e6)
                name = label(g)
                if not g.runs:
                    # A run that failed or was stopped still says what the
                    # URLs it finished cost; shown, marked, never a target.
                    part = [r for r in g.all if r.get("requests")]
                    if part:
                        r = max(part, key=lambda r: r["requests"])
                        per = [(r["user"] + r["sys"]) / r["requests"] * 1e6]
                        name += f" ³ ({r['requests']:,} URLs done)"
                        g = Group([dict(r, ok=True)])
                cur = med(per)
                x = ratio(cur, prev)
                self.w(f"| {name} | {fmt(h)} | {len(g.runs)} | {fmt(cur)} "
                       f"| {spread(per)} | {fmt(x, 2)} | {fmt(g.rate())} "
                       f"| {fmt(g.wall(), 2)} | {fmt(g.rss(), 1)} |")
                if "³" in name:
                    if c == "uvfetch" and prev is not None:
                        self.target("7", f"CPU per URL, {fmt(hosts[hosts.index(h) - 1])} → "
                                    f"{fmt(h)} hosts, ≤ 1.3 ×",
                                    f"{fmt(prev)} → {fmt(cur)} µs = {fmt(x, 2)} × (the run "
                                    f"failed or was stopped after {g.runs[0]['requests']:,} "
                                    "URLs)", False)
                    prev = None
                    continue
                if c == "uvfetch" and prev is not None:
                    self.target("7", f"CPU per URL, {fmt(hosts[hosts.index(h) - 1])} → "
                                f"{fmt(h)} hosts, ≤ 1.3 ×",
                                f"{fmt(prev)} → {fmt(cur)} µs = {fmt(x, 2)} ×",
                                x is not None and x <= 1.3)
                prev = cur
        self.w()
        if "³" in "\n".join(self.lines[-12:]):
            self.w("³ The run failed (a URL that did not resolve) or was stopped; the "
                   "figures are over the URLs it finished, and count for no target.")
            self.w()

    def w7sys(self):
        runs = [r for r in self.recs if r.get("case") == "7sys" and r.get("syscalls")]
        if not runs:
            return
        self.w("### Workload 7: system calls per URL over HTTPS, one URL a host")
        self.w()
        self.w("`strace -f -c`, every thread; (calls at the larger count − calls at the "
               "smaller) ÷ (difference in URLs).")
        self.w()
        self.w("| client | URLs (= hosts) | calls / URL | top calls per URL |")
        self.w("|---|--:|--:|---|")
        per_client = {}
        for c in CLIENT_ORDER:
            rs = sorted((r for r in runs if r["client"] == c),
                        key=lambda r: r.get("requests") or 0)
            if len(rs) < 2:
                continue
            a, b = rs[0], rs[-1]
            dn = (b.get("requests") or 0) - (a.get("requests") or 0)
            if dn <= 0:
                continue
            names = set(a["syscalls"]) | set(b["syscalls"])
            per = {k: (b["syscalls"].get(k, 0) - a["syscalls"].get(k, 0)) / dn for k in names}
            total = per.pop("total", sum(per.values()))
            top = sorted(per.items(), key=lambda kv: -kv[1])
            tops = ", ".join(f"{k} {v:.1f}" for k, v in top[:8] if v >= 0.05)
            failed = any(not r.get("ok") for r in rs)
            self.w(f"| {CLIENT_LABEL[c]}{' (a run FAILED)' if failed else ''} "
                   f"| {a['requests']:,} → {b['requests']:,} | {total:.1f} | {tops} |")
            per_client[c] = total
        self.w()
        if "uvfetch" in per_client and "curl" in per_client:
            u, c = per_client["uvfetch"], per_client["curl"]
            self.target("7", "system calls per URL over HTTPS, many hosts ≤ curl's",
                        f"{u:.1f} against {c:.1f}", u <= c)

    def w7threads(self):
        gs = groups_by(self.recs, "7thr")
        if not gs:
            return
        self.w("### Workload 7: threads")
        self.w()
        self.w("The most threads the client had at once (`/proc/PID/task`, sampled every "
               "millisecond), one URL on each of the names, -j 200, HTTP/1.1.")
        self.w()
        self.w("| client | names | threads at most | libuv pool |")
        self.w("|---|--:|--:|--:|")
        for g in ordered(gs):
            t = max(g.vals(lambda r: r["threads"]) or [0])
            pool = g.all[0].get("pool", "") if g.client == "uvfetch" else ""
            self.w(f"| {label(g)} | {fmt(g.n)} | {t} | {pool} |")
        self.w()
        uv = gs.get("uvfetch")
        if uv and uv.runs:
            t = max(uv.vals(lambda r: r["threads"]))
            pool = int(uv.all[0].get("pool", 4))
            self.target("7", f"threads ≤ 8 + libuv's pool ({pool}) over {fmt(uv.n)} names",
                        f"{t}", t <= 8 + pool)

    def w7dns(self):
        qs = [r for r in self.recs if r.get("case") == "7dnsq"]
        if not qs:
            return
        self.w("### Workload 7: lookups per name, counted at the DNS server")
        self.w()
        self.w("The HTTP/1.1 crawl once more, each client's names sent to a dnsmasq of "
               "its own that logs every query (`--log-queries`, no cache); a lookup is "
               "a `query[A]` line (getaddrinfo asks for AAAA too).")
        self.w()
        self.w("| client | URLs | names | A queries | AAAA queries | per name (median / max) "
               "| names asked once | wall s |")
        self.w("|---|--:|--:|--:|--:|--:|--:|--:|")
        runs = {r["client"]: r for r in self.recs if r.get("case") == "7dns"}
        for q in sorted(qs, key=lambda r: CLIENT_ORDER.index(r["client"])):
            run = runs.get(q["client"], {})
            bad = "" if run.get("ok") else " (run FAILED)"
            self.w(f"| {CLIENT_LABEL.get(q['client'], q['client'])}{bad} | {fmt(q.get('n'))} "
                   f"| {fmt(q['names'])} | {fmt(q['a_queries'])} | {fmt(q['aaaa_queries'])} "
                   f"| {q['per_name_median']} / {q['per_name_max']} | {fmt(q['names_once'])} "
                   f"| {fmt(run.get('wall'), 2)} |")
            if q["client"] == "uvfetch":
                self.target("7", "each name looked up once per cache lifetime (60 s)",
                            f"{fmt(q['a_queries'])} lookups for {fmt(q['names'])} names "
                            f"(at most {q['per_name_max']} a name), run of "
                            f"{fmt(run.get('wall'), 1)} s",
                            q["per_name_max"] == 1 and q["names"] == q.get("hosts")
                            and bool(run.get("ok")))
        self.w()

    def w7rss(self):
        gs = groups_by(self.recs, "7rss")
        uv = gs.get("uvfetch")
        if not uv:
            return
        hosts = uv.all[0].get("hosts")
        self.w("### Workload 7: memory over many hosts")
        self.w()
        self.w(f"`awk … | uvfetch -j 200 -i -`, URL i on host h(i mod {fmt(hosts)}), HTTP/1.1.")
        self.w()
        self.w("| URLs | hosts | runs | peak RSS MiB | wall s | req/s | CPU µs / URL |")
        self.w("|--:|--:|--:|--:|--:|--:|--:|")
        per = med(uv.vals(lambda r: (r["user"] + r["sys"]) / r["requests"] * 1e6))
        self.w(f"| {fmt(uv.n)}{' (FAILED)' if uv.failed else ''} | {fmt(hosts)} "
               f"| {len(uv.runs)} | {fmt(uv.rss_max(), 1)} | {fmt(uv.wall(), 1)} "
               f"| {fmt(uv.rate())} | {fmt(per)} |")
        self.w()
        top = uv.rss_max()
        if top is not None:
            self.target("7", f"peak RSS ≤ 24 MiB, {fmt(uv.n)} URLs over {fmt(hosts)} hosts",
                        f"{top:.1f} MiB", top <= 24)

    # -- chart ---------------------------------------------------------------------
    def chart(self, datafile):
        gs = groups_by(self.recs, "chart", key=lambda r: (r["client"], r["j"]))
        if not gs:
            return
        js = sorted({j for _, j in gs})
        clients = [c for c in CLIENT_ORDER if any(k[0] == c for k in gs)]
        self.w("### Request rate against concurrency (workload 1, smaller count)")
        self.w()
        self.w("![rate vs concurrency](rate-vs-concurrency.png)")
        self.w()
        if load_note(self.recs, {"chart"}):
            self.w(load_note(self.recs, {"chart"}))
            self.w()
        self.w("| -j | " + " | ".join(CLIENT_LABEL[c] for c in clients) + " |")
        self.w("|--:|" + "--:|" * len(clients))
        rows = []
        for j in js:
            vals = [gs[(c, j)].rate() if (c, j) in gs else None for c in clients]
            rows.append((j, vals))
            self.w(f"| {j} | " + " | ".join(fmt(v) for v in vals) + " |")
        self.w()
        if datafile:
            with open(datafile, "w") as f:
                f.write("# j " + " ".join(clients) + "\n")
                for j, vals in rows:
                    f.write(f"{j} " + " ".join("NaN" if v is None else f"{v:.1f}"
                                               for v in vals) + "\n")

    # -- whole document ------------------------------------------------------------
    def render(self, chart_data):
        body_start = len(self.lines)
        self.w1()
        self.w2()
        self.w3()
        self.w4()
        self.w5()
        self.w6()
        self.sys()
        self.chart(chart_data)
        self.w7()
        body = self.lines[body_start:]
        self.lines = self.lines[:body_start]
        m = self.meta
        self.w("# uvfetch benchmark: latest run")
        self.w()
        self.w(f"- date: {m.get('date')}, mode: {m.get('mode')}, workloads: "
               f"{m.get('workloads')}, took {m.get('minutes', '?')} min")
        self.w(f"- machine: {m.get('nproc')} cores, {m.get('cpu')}, {m.get('memory')}, "
               f"Linux {m.get('kernel')}; load average at start {m.get('load_start')}, "
               f"at end {m.get('load_end')}")
        loads = [r["load1"] for r in self.recs if "load1" in r]
        if loads:
            self.w(f"- 1-minute load average when each run started: median "
                   f"{med(loads):.2f}, max {max(loads):.2f} (a client and the server "
                   "account for about 2; the thread-pool peer adds its "
                   "threads, up to its -j, and other work on the machine adds "
                   "the rest)")
        self.w(f"- versions: {m.get('uvfetch')}; libcurl {m.get('libcurl')}, libuv "
               f"{m.get('libuv')}, nginx {m.get('nginx')}, Python {m.get('python')} "
               f"(requests {m.get('requests')}, aiohttp {m.get('aiohttp')}), curl "
               f"{m.get('curl')}, wrk {m.get('wrk')}, h2load {m.get('h2load')}")
        self.w(f"- set-up: nginx (1 worker) and the delay server on core "
               f"{m.get('server_cpu')}, each client on core {m.get('client_cpu')} "
               f"(taskset); {m.get('rounds')} rounds (workload 5: {m.get('rounds5')}"
               + (f"; workload 7: {m.get('rounds7')}"
                  if any(str(r.get("case", "")).startswith("7") for r in self.recs) else "")
               + "), "
               "every client once per round in rotating order; figures are medians, "
               "spread is min–max over the rounds.")
        self.w()
        if self.targets:
            self.w("## Targets")
            self.w()
            self.w("| workload | target | measured | |")
            self.w("|---|---|---|---|")
            for wl, text, measured, ok in self.targets:
                self.w(f"| {wl} | {text} | {measured} | {verdict(ok)} |")
            self.w()
        self.w("## Figures")
        self.w()
        self.lines += body
        self.w("Columns: see bench/README.md. Every run's raw record is in latest.jsonl.")
        return "\n".join(self.lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart-data")
    a = ap.parse_args()
    rep = Report(read_meta(a.meta), load(a.results))
    text = rep.render(a.chart_data)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
