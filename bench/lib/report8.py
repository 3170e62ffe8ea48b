#!/usr/bin/python3
"""Workload 8 (-j auto against fixed -j, issue 12): bench/run's records ->
bench/results/workload8.md, the chart's data, and the README's rows.

    report8.py --meta META.env --results RESULTS8.jsonl --out WORKLOAD8.md
               [--chart-data PREFIX] [--chart PNG-NAME] [--readme FILE]

Every figure is the median over the rounds; the spread is the lowest and the
highest run. Records come from lib/measure.py --parse json: "requests" are
the URLs answered 200, "lat_p50"/"lat_p99" their total times, "hosts" the
same per host:port, and "server_NAME" the delayserver's /stats after the
run (503s, and the count in flight when each request arrived).
"""
import argparse

# The helpers both reports share, from report.py beside this file.
from report import fmt, load, med, read_meta, spread, verdict

JS = [1, 4, 16, 50, 200, 1000]
CASES = {
    "a": "a: latency-bound (every answer after 100 ms, unlimited capacity)",
    "b": "b: capacity-bound (16 workers, 10 ms each, a queue past them)",
    "c": "c: 503 with Retry-After: 1 when 32 are in flight already, else 10 ms",
    "d": "d: a's server and b's in one list, six URLs to a's for each to b's",
}


def RATE(r):
    return r["requests"] / r["wall"]


def host_rate(port):
    """A run's rate for one host:port: its 200s over the time to its last."""
    def f(r):
        for hp, h in r["hosts"].items():
            if hp.rsplit(":", 1)[-1] == str(port) and h["end"] > 0:
                return h["n"] / h["end"]
        return None
    return f


def jkey(j):
    return 10**9 if str(j) == "auto" else int(j)


class Runs:
    """The rounds of one (case, -j)."""

    def __init__(self, recs):
        self.all = recs
        self.runs = [r for r in recs if r.get("ok")]
        self.failed = len(recs) - len(self.runs)
        self.n = recs[0].get("n")
        self.j = recs[0].get("j")

    def vals(self, f):
        out = []
        for r in self.runs:
            try:
                v = f(r)
            except (KeyError, TypeError, ZeroDivisionError):
                v = None
            if v is not None:
                out.append(v)
        return out

    def m(self, f):
        return med(self.vals(f))

    # The whole run's figures.
    def rates(self):
        return self.vals(lambda r: r["requests"] / r["wall"])

    def rate(self):
        return med(self.rates())

    def p50(self):
        return self.m(lambda r: r["lat_p50"] * 1000)

    def p99(self):
        return self.m(lambda r: r["lat_p99"] * 1000)

    def errors(self):
        return self.m(lambda r: r["failures"])

    def server(self, name, key):
        return self.m(lambda r: r["server_" + name][key])

    # One host's figures (case d): the URLs answered 200 over the time from
    # the start until the last of them came back.
    def host(self, port, key):
        def get(r):
            for hp, h in r["hosts"].items():
                if hp.rsplit(":", 1)[-1] == str(port):
                    if key == "rate":
                        return h["n"] / h["end"]
                    return h[key] * 1000 if key.startswith("lat") else h[key]
            return None
        return self.m(get)

    def host_rates(self, port):
        out = []
        for r in self.runs:
            for hp, h in r.get("hosts", {}).items():
                if hp.rsplit(":", 1)[-1] == str(port) and h["end"] > 0:
                    out.append(h["n"] / h["end"])
        return out


class Report:
    def __init__(self, meta, recs):
        self.meta = meta
        self.recs = recs
        self.lines = []
        self.targets = []  # (case, text, measured, ok)
        self.groups = {}
        for r in recs:
            self.groups.setdefault((r["case"][1:], str(r["j"])), []).append(r)
        self.groups = {k: Runs(v) for k, v in self.groups.items()}
        # The servers' ports: the host of each single-server case.
        self.port = {}
        for c in "abc":
            for r in recs:
                if r["case"] == "8" + c and r.get("hosts"):
                    self.port[c] = next(iter(r["hosts"])).rsplit(":", 1)[-1]
                    break

    def w(self, s=""):
        self.lines.append(s)

    def g(self, case, j):
        return self.groups.get((case, str(j)))

    def fixed(self, case):
        return [self.g(case, j) for j in JS if self.g(case, j)]

    def best(self, case, f):
        best = None
        for g in self.fixed(case):
            v = f(g)
            if v is not None and (best is None or v > best[1]):
                best = (g.j, v)
        return best

    def round_ratio(self, case, f, other=None, g=None):
        """The median over rounds of f(auto's run) / f(best fixed run of
        that round) (or / f(other's run of that round) when other is a
        Runs): each round compares runs made minutes apart, so load that
        drifts between rounds drops out."""
        auto = g or self.g(case, "auto")
        if not auto:
            return None
        out = []
        for r in auto.runs:
            try:
                mine = f(r)
            except (KeyError, TypeError, ZeroDivisionError):
                continue
            rivals = []
            pool = [other] if other else self.fixed(case)
            for h in pool:
                for q in h.runs:
                    if q.get("round") == r.get("round"):
                        try:
                            rivals.append(f(q))
                        except (KeyError, TypeError, ZeroDivisionError):
                            pass
            rivals = [v for v in rivals if v]
            if mine is not None and rivals:
                out.append(mine / max(rivals))
        return med(out)

    def label(self, g):
        s = "**auto**" if str(g.j) == "auto" else str(g.j)
        if g.failed:
            s += f" ({g.failed} FAILED)"
        return s

    def table(self, case, late=False):
        rows = [self.g(case, "auto")] + self.fixed(case)
        rows = [g for g in rows if g]
        if not rows:
            return
        self.w(f"### Case {CASES[case]}")
        self.w()
        head = ("| -j | URLs | runs | URLs/s (200) | spread | median ms | p99 ms "
                "| not 200 | in flight at the server (median, p90) |")
        if late:
            head = head.replace("| not 200 |", "| 503s | 503s after 2 s |")
        self.w(head)
        self.w("|---|--:|--:|--:|--:|--:|--:|--:|" + ("--:|" if late else "") + "--:|")
        for g in rows:
            cells = [self.label(g), fmt(g.n), str(len(g.runs)), fmt(g.rate()),
                     spread(g.rates()), fmt(g.p50(), 1), fmt(g.p99(), 1)]
            if late:
                rej = g.server(case, "rejected")
                rl = g.server(case, "rejected_late")
                ql = g.server(case, "requests_late")
                share = f" ({100 * rl / ql:.2f} %)" if rl is not None and ql else ""
                cells += [fmt(rej), fmt(rl) + share]
            else:
                cells.append(fmt(g.errors()))
            cells.append(f"{fmt(g.server(case, 'inflight_p50'))}, "
                         f"{fmt(g.server(case, 'inflight_p90'))}")
            self.w("| " + " | ".join(cells) + " |")
        self.w()

    def case_a(self):
        self.table("a")
        auto = self.g("a", "auto")
        best = self.best("a", lambda g: g.rate())
        if auto and best and auto.rate():
            x = self.round_ratio("a", RATE)
            self.targets.append(("a", "rate ≥ 0.90 × the best fixed -j's "
                                 f"({fmt(auto.n)} URLs, 100 ms answers)",
                                 f"{x:.2f} × (medians: {fmt(auto.rate())} against "
                                 f"{fmt(best[1])} URLs/s at -j {best[0]})", x >= 0.9))

    def unloaded(self):
        g = self.g("b", 1)
        return g.p50() if g else None

    def case_b(self):
        self.table("b")
        auto = self.g("b", "auto")
        best = self.best("b", lambda g: g.rate())
        base = self.unloaded()
        if auto and best and auto.rate():
            x = self.round_ratio("b", RATE)
            self.targets.append(("b", "rate ≥ 0.95 × the best fixed -j's "
                                 "(16 workers, 10 ms)",
                                 f"{x:.2f} × (medians: {fmt(auto.rate())} against "
                                 f"{fmt(best[1])} URLs/s at -j {best[0]})", x >= 0.95))
        if auto and base and auto.p50():
            x = auto.p50() / base
            j200 = self.g("b", 200)
            note = (f"; -j 200: {j200.p50() / base:.1f} ×"
                    if j200 and j200.p50() else "")
            self.targets.append(("b", "median latency ≤ 1.5 × the unloaded (-j 1's)",
                                 f"{x:.2f} × ({fmt(auto.p50(), 1)} against "
                                 f"{fmt(base, 1)} ms{note})", x <= 1.5))

    def case_c(self):
        self.table("c", late=True)
        auto = self.g("c", "auto")
        best = self.best("c", lambda g: g.rate())
        if not auto:
            return
        share = auto.m(lambda r: r["server_c"]["rejected_late"]
                       / r["server_c"]["requests_late"])
        if share is not None:
            self.targets.append(("c", "< 2 % of requests answered 503 after the first 2 s",
                                 f"{100 * share:.2f} % ({fmt(auto.server('c', 'rejected_late'))}"
                                 f" of {fmt(auto.server('c', 'requests_late'))}; "
                                 f"{fmt(auto.server('c', 'rejected'))} in all)",
                                 share < 0.02))
        if best and auto.rate():
            x = self.round_ratio("c", RATE)
            bj = self.g("c", best[0])
            lost = (f"; -j {best[0]} had {fmt(bj.errors())} of {fmt(bj.n)} "
                    "answered 503" if bj and bj.errors() else "")
            self.targets.append(("c", "rate (200s) ≥ 0.90 × the best fixed -j's",
                                 f"{x:.2f} × (medians: {fmt(auto.rate())} against "
                                 f"{fmt(best[1])} URLs/s at -j {best[0]}{lost})",
                                 x >= 0.9))

    def case_d(self):
        fast, slow = self.port.get("a"), self.port.get("b")
        rows = [g for g in [self.g("d", "auto")] + self.fixed("d") if g]
        if not rows or not fast or not slow:
            return
        self.w(f"### Case {CASES['d']}")
        self.w()
        self.w("Each host's rate is its URLs answered 200 over the time from the "
               "start to the last of them. \"alone\" is -j auto on the fast "
               "host's URLs of the same list, without the slow host's.")
        self.w()
        self.w("| -j | URLs | runs | fast URLs/s | slow URLs/s | fast median ms "
               "| slow median ms | slow p99 ms | not 200 | in flight at fast, "
               "slow (median) |")
        self.w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        alone = self.g("dfast", "auto")
        for g in ([alone] if alone else []) + rows:
            name = "auto, fast host alone" if g is alone else self.label(g)
            slow_cells = (["–", "–", "–"] if g is alone else
                          [fmt(g.host(slow, "rate")), fmt(g.host(fast, "lat_p50"), 1),
                           fmt(g.host(slow, "lat_p50"), 1)])
            cells = [name, fmt(g.n), str(len(g.runs)), fmt(g.host(fast, "rate")),
                     slow_cells[0], slow_cells[1] if g is not alone
                     else fmt(g.host(fast, "lat_p50"), 1), slow_cells[2],
                     "–" if g is alone else fmt(g.host(slow, "lat_p99"), 1),
                     fmt(g.errors()),
                     f"{fmt(g.server('fast', 'inflight_p50'))}, "
                     + ("–" if g is alone else fmt(g.server("slow", "inflight_p50")))]
            self.w("| " + " | ".join(cells) + " |")
        self.w()
        auto = self.g("d", "auto")
        bauto = self.g("b", "auto")
        if auto and alone and auto.host(fast, "rate") and alone.host(fast, "rate"):
            x = self.round_ratio("d", host_rate(fast), other=alone)
            self.targets.append(("d", "fast host's rate within 10 % of its rate alone",
                                 f"{x:.2f} × (medians: {fmt(auto.host(fast, 'rate'))} "
                                 f"against {fmt(alone.host(fast, 'rate'))} URLs/s)",
                                 x >= 0.9))
        if auto and bauto and auto.host(slow, "rate"):
            b_rate = bauto.host(slow, "rate")
            x = None
            if b_rate:
                mine = [host_rate(slow)(r) for r in auto.runs]
                theirs = {q.get("round"): host_rate(slow)(q) for q in bauto.runs}
                x = med([m / theirs[r.get("round")] for m, r in zip(mine, auto.runs)
                         if m and theirs.get(r.get("round"))])
            supply = auto.host(fast, "rate") / 6 if auto.host(fast, "rate") else None
            if x is not None:
                self.targets.append((
                    "d", "slow host's rate no worse than in case b (≥ 0.95 × b's)",
                    f"{x:.2f} × (medians: {fmt(auto.host(slow, 'rate'))} against "
                    f"{fmt(b_rate)} URLs/s; its URLs come at a sixth of the fast "
                    f"host's pace in the list, at most {fmt(supply)}/s here)",
                    x >= 0.95))
            lat = auto.host(slow, "lat_p50")
            b_lat = bauto.p50()
            base = self.unloaded()
            if lat and b_lat and base:
                self.targets.append((
                    "d", "slow host's median latency no worse than in case b "
                    "(≤ 1.1 × b's, ≤ 1.5 × the unloaded)",
                    f"{fmt(lat, 1)} ms against {fmt(b_lat, 1)} ms in b, "
                    f"{fmt(base, 1)} unloaded; in flight at the server "
                    f"{fmt(auto.server('slow', 'inflight_p50'))} (b: "
                    f"{fmt(bauto.server('b', 'inflight_p50'))})",
                    lat <= 1.1 * b_lat and lat <= 1.5 * base))

    def chart_data(self, prefix):
        """PREFIX.dat: -j, then rate and median latency of a, b, c;
        PREFIX-auto.dat: each case's -j auto at the concurrency the server
        saw (its median in flight), with its rate and median latency."""
        with open(prefix + ".dat", "w") as f:
            f.write("# j rate_a rate_b rate_c lat_a lat_b lat_c\n")
            for j in JS:
                vals = []
                for key in ("rate", "p50"):
                    for c in "abc":
                        g = self.g(c, j)
                        v = (g.rate() if key == "rate" else g.p50()) if g else None
                        vals.append("NaN" if v is None else f"{v:.2f}")
                f.write(f"{j} " + " ".join(vals) + "\n")
        with open(prefix + "-auto.dat", "w") as f:
            f.write("# case inflight_p50 rate lat_p50\n")
            for i, c in enumerate("abc"):
                g = self.g(c, "auto")
                if not g or g.rate() is None:
                    continue
                x = g.server(c, "inflight_p50") or 1
                f.write(f"{i} {x:.1f} {g.rate():.2f} {g.p50():.2f} {c}\n")

    def render(self, chart):
        body_start = len(self.lines)
        self.case_a()
        self.case_b()
        self.case_c()
        self.case_d()
        body = self.lines[body_start:]
        self.lines = self.lines[:body_start]
        m = self.meta
        self.w("# uvfetch benchmark: workload 8, -j auto against fixed -j")
        self.w()
        self.w(f"- date: {m.get('date')}, mode: {m.get('mode')}, took "
               f"{m.get('minutes', '?')} min (with workloads {m.get('workloads')})")
        self.w(f"- machine: {m.get('nproc')} cores, {m.get('cpu')}, {m.get('memory')}, "
               f"Linux {m.get('kernel')}; load average at start {m.get('load_start')}, "
               f"at end {m.get('load_end')}")
        loads = [r["load1"] for r in self.recs if "load1" in r]
        if loads:
            self.w(f"- 1-minute load average when each run started: median "
                   f"{med(loads):.2f}, max {max(loads):.2f} (the client and the "
                   "server account for about 1.5; other work on the machine adds "
                   "the rest)")
        self.w(f"- versions: {m.get('uvfetch')}; libcurl {m.get('libcurl')}, libuv "
               f"{m.get('libuv')}")
        self.w(f"- set-up: bench/delayserver.c on core {m.get('server_cpu')} (one "
               f"process per server), uvfetch on core {m.get('client_cpu')}; "
               f"{m.get('rounds8')} rounds, the order of the -j rotated each round; "
               "figures are medians, spread is min–max over the rounds; a "
               "target's ratio is the median over the rounds of that round's "
               "ratio (auto against the best fixed -j of the same round).")
        self.w("- -j auto (its ceiling: 1000) fetches the whole list; a fixed -j "
               "fetches about 3 s' worth at its expected rate (at least 30 URLs), "
               "which changes its wall time but not its rate. Rates count URLs "
               "answered 200 over the wall time of the process. Latencies are "
               "each URL's total_time. No retries: a 503 is an answer, counted "
               "apart. \"In flight at the server\" is what bench/delayserver.c "
               "counted as each request arrived (itself included).")
        self.w()
        if self.targets:
            self.w("## Targets (issue 12)")
            self.w()
            self.w("| case | target | measured | |")
            self.w("|---|---|---|---|")
            for c, text, measured, ok in self.targets:
                self.w(f"| {c} | {text} | {measured} | {verdict(ok)} |")
            self.w()
        if chart:
            self.w(f"![rate and median latency against -j, -j auto marked]({chart})")
            self.w()
        self.w("## Figures")
        self.w()
        self.lines += body

    def readme(self, path, chart):
        m = self.meta
        out = ["<!-- Generated by bench/lib/report8.py from "
               f"bench/results/workload8.jsonl ({m.get('date')}); the rows go "
               "into README.md's Performance table, the rest below it. -->", ""]
        for c, text, measured, ok in self.targets:
            out.append(f"| 8{c} | -j auto: {text} | {measured} | {verdict(ok)} |")
        out.append("")
        loads = [r["load1"] for r in self.recs if "load1" in r]
        load = (f", 1-minute load average {med(loads):.1f} at the median run's "
                f"start, {max(loads):.1f} at most" if loads else "")
        out.append(f"Workload 8 (`bench/run 8`, [workload8.md](bench/results/workload8.md), "
                   f"{m.get('date')}, {m.get('rounds8')} rounds{load}) compares "
                   "`-j auto` with fixed -j 1 to 1000 against three servers "
                   "(bench/delayserver.c) on loopback: 100 ms answers with no "
                   "capacity limit (a), 16 workers of 10 ms with a queue (b), "
                   "503 with Retry-After: 1 past 32 in flight (c), and a's and "
                   "b's servers in one list, six URLs to a's for each to b's "
                   "(d). Each ratio is the median over the rounds of the ratio "
                   "within a round. Rates count URLs answered 200; no retries.")
        out.append("")
        out.append("Request rate and median latency against `-j`, `-j auto` "
                   "marked where the server saw it settle:")
        out.append("")
        out.append(f"![rate and latency against -j, -j auto marked](bench/results/{chart})")
        out.append("")
        with open(path, "w") as f:
            f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart-data")
    ap.add_argument("--chart", default="workload8.png")
    ap.add_argument("--readme")
    a = ap.parse_args()
    rep = Report(read_meta(a.meta), load(a.results))
    rep.render(a.chart)
    with open(a.out, "w") as f:
        f.write("\n".join(rep.lines) + "\n")
    if a.chart_data:
        rep.chart_data(a.chart_data)
    if a.readme:
        rep.readme(a.readme, a.chart)


if __name__ == "__main__":
    main()
