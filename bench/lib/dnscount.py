#!/usr/bin/python3
"""Counts the lookups a client made, from the log of a dnsmasq run with
--log-queries, and appends one JSON record to a results file.

    dnscount.py --log DNSMASQ.log --record FILE --zone ZONE [--set KEY=VALUE]...

A lookup through getaddrinfo asks for A (and, for AF_UNSPEC, AAAA) of the
name; the record counts, for names under ZONE:
  names           distinct names asked for
  a_queries       "query[A]" lines; aaaa_queries the same for AAAA
  per_name_max    the most A queries for one name; per_name_median likewise
  names_once      names asked for (A) exactly once
"""
import argparse
import json
import re
import statistics
from collections import Counter

QUERY = re.compile(r"query\[(A|AAAA)\] (\S+) from ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    rec = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        try:
            rec[k] = int(v)
        except ValueError:
            rec[k] = v
    a_per = Counter()
    aaaa = 0
    suffix = "." + a.zone
    with open(a.log, errors="replace") as f:
        for line in f:
            m = QUERY.search(line)
            if not m or not m.group(2).endswith(suffix):
                continue
            if m.group(1) == "A":
                a_per[m.group(2)] += 1
            else:
                aaaa += 1
    counts = list(a_per.values())
    rec.update(
        names=len(a_per),
        a_queries=sum(counts),
        aaaa_queries=aaaa,
        per_name_max=max(counts) if counts else 0,
        per_name_median=statistics.median(counts) if counts else 0,
        names_once=sum(1 for c in counts if c == 1),
        ok=bool(counts),
    )
    with open(a.record, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print("  %-10s %-8s names=%d A=%d AAAA=%d per name: median %s, max %d"
          % (rec.get("client", "?"), rec.get("case", ""), rec["names"],
             rec["a_queries"], aaaa, rec["per_name_median"], rec["per_name_max"]),
          flush=True)
    return 0 if counts else 1


if __name__ == "__main__":
    raise SystemExit(main())
