#!/bin/bash
# CPU per URL of a crawl as the hosts grow: -j 200 against bench/delayserver
# answering at once, URL i on host h(i mod H).crawl.test, names from the
# namespace's dnsmasq. Run from the top of the tree, as root:
#   tests/netns.sh --zone crawl.test=127.0.0.1 bench/keepalive.sh [UVFETCH]
# Prints one line per (URLs, hosts): CPU seconds, wall, peak RSS, CPU per
# URL, and the connections the server accepted. Results and the figures
# before keep.c are in bench/results/keepalive.md.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
uvfetch=${1:-$top/build/uvfetch}
work=$(mktemp -d)
trap 'kill $ds 2>/dev/null; rm -rf "$work"' EXIT
cc -O2 -o "$work/delayserver" "$top/bench/delayserver.c" \
  $(pkg-config --cflags --libs libuv)
"$work/delayserver" "$work/port" 0 &
ds=$!
while [ ! -s "$work/port" ]; do sleep 0.1; done
port=$(cat "$work/port")
stats() { curl -s "http://127.0.0.1:$port/stats$1"; }
for spec in ${KEEPALIVE_SPECS:-20000:1 20000:2000 20000:20000 40000:40000}; do
  spec=${spec/:/ }
  set -- $spec
  awk -v n="$1" -v h="$2" -v p="$port" 'BEGIN { for (i = 0; i < n; i++)
    printf "http://h%d.crawl.test:%d/x%d\n", i % h, p, i }' >"$work/urls"
  stats /reset >/dev/null
  /usr/bin/time -f "%U %S %e %M" -o "$work/time" \
    "$uvfetch" -j 200 -i "$work/urls" >"$work/out" 2>/dev/null || true
  read -r u s e m <"$work/time"
  conns=$(stats "" | sed 's/.*"connections": *\([0-9]*\).*/\1/')
  awk -v n="$1" -v h="$2" -v u="$u" -v s="$s" -v e="$e" -v m="$m" \
    -v c="$conns" -v got="$(wc -l <"$work/out")" 'BEGIN {
    printf "%6d URLs over %6d hosts: %d records, CPU %.2f s, wall %.2f s, " \
      "peak RSS %.1f MiB, %.0f us CPU per URL, %d connections\n",
      n, h, got, u + s, e, m / 1024, (u + s) * 1e6 / n, c }'
done
