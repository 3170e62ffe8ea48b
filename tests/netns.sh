#!/bin/bash
# Runs a command in a private network namespace whose only network is
# loopback, and whose names resolve through a real DNS server on it.
#
#   tests/netns.sh [--zone DOMAIN=ADDR]... [--dnsmasq-arg ARG]... [--] CMD...
#
# As root, where `unshare -mn` works, CMD runs in a new network and mount
# namespace with:
#   - lo up (127.0.0.1 and ::1), and no other interface;
#   - /etc/resolv.conf replaced, for this namespace only, by
#     "nameserver 127.0.0.1" with "options timeout:1 attempts:2";
#   - /etc/gai.conf replaced too, so that getaddrinfo keeps 127.0.0.1 after
#     the other loopback addresses of a name (see below);
#   - dnsmasq on 127.0.0.1:53, the resolver, caching nothing, answering
#       *.test           what tests/dnsserver.py on 127.0.0.1:5300 answers,
#                        to which dnsmasq forwards them: A 127.0.0.1 and no
#                        AAAA (see below), except *.fault.test, names which
#                        fail in the ways dnsserver.py's comment lists
#       DOMAIN (--zone)  A or AAAA ADDR from dnsmasq itself, e.g.
#                        --zone crawl.test=127.0.0.1 (fast: for many names)
#       anything else    NXDOMAIN, at once: nothing leaves the namespace
#     plus any --dnsmasq-arg given;
#   - UVFETCH_TEST_ISOLATED_NET=1 and UVFETCH_TEST_DNS=1 exported, and
#     UVFETCH_DNS_PORT, where tests can ask the DNS server how often a name
#     was looked up (see dnsserver.py).
# Its exit status is CMD's. dnsmasq and the DNS server are stopped by pid
# when CMD ends.
#
# Why *.test has no AAAA record: the tests' servers listen on 127.0.0.1, so
# an AAAA of ::1 would send every first connection to a port nobody holds
# and leave happy eyeballs to fall back. Names that must have an AAAA record
# (v6only.fault.test) are the DNS server's, and their tests listen on ::1.
#
# Without root or unshare, CMD runs plainly, with neither variable set, so
# tests that need the namespace skip and say why.
#
# Environment: UVFETCH_DNS_PORT overrides the DNS server's port 5300.
# Inside an existing namespace of this script (UVFETCH_TEST_DNS=1), CMD runs
# in it directly unless --zone or --dnsmasq-arg asks for another.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
zones=()
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --zone)
      [ $# -ge 2 ] || { echo "netns.sh: --zone needs DOMAIN=ADDR" >&2; exit 2; }
      case $2 in
        ?*=?*) zones+=("$2") ;;
        *) echo "netns.sh: --zone $2: want DOMAIN=ADDR" >&2; exit 2 ;;
      esac
      shift 2
      ;;
    --dnsmasq-arg)
      [ $# -ge 2 ] || { echo "netns.sh: --dnsmasq-arg needs ARG" >&2; exit 2; }
      extra+=("$2")
      shift 2
      ;;
    --) shift; break ;;
    -*) echo "netns.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || {
  echo "usage: $0 [--zone DOMAIN=ADDR]... [--dnsmasq-arg ARG]... [--] CMD..." >&2
  exit 2
}

if [ "${UVFETCH_NETNS_INSIDE:-}" != 1 ]; then
  if [ "${UVFETCH_TEST_DNS:-}" = 1 ] && [ ${#zones[@]} = 0 ] &&
    [ ${#extra[@]} = 0 ]; then
    exec "$@"
  fi
  if [ "$(id -u)" = 0 ] && unshare -mn true 2>/dev/null; then
    # unshare(1) makes the new mount namespace's propagation private, so
    # the bind mount below is seen by CMD alone.
    again=()
    for z in ${zones[@]+"${zones[@]}"}; do again+=(--zone "$z"); done
    for a in ${extra[@]+"${extra[@]}"}; do again+=(--dnsmasq-arg "$a"); done
    exec unshare -mn env UVFETCH_NETNS_INSIDE=1 bash "$0" \
      ${again[@]+"${again[@]}"} -- "$@"
  fi
  echo "netns.sh: cannot make a network namespace (needs root and" \
    "unshare -mn); running without one, so DNS and unknown-host tests skip" >&2
  unset UVFETCH_TEST_DNS UVFETCH_TEST_ISOLATED_NET
  exec "$@"
fi

# ---- inside the new namespace --------------------------------------------
# One block, which bash reads whole before it runs any of it: CMD may run
# for minutes, and an edit to this file meanwhile must not change what the
# rest of this run does.
{
unset UVFETCH_NETNS_INSIDE
dns_port=${UVFETCH_DNS_PORT:-5300}
ip link set lo up
work=$(mktemp -d "${TMPDIR:-/tmp}/uvfetch-netns-XXXXXX")
dnsmasq_pid=
server_pid=

cleanup() {
  local pid
  for pid in $dnsmasq_pid $server_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $dnsmasq_pid $server_pid; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The helpers die with this script even if it is killed outright, when
# setpriv can ask for that; otherwise the EXIT trap does it.
deathsig=()
if setpriv --pdeathsig TERM true 2>/dev/null; then
  deathsig=(setpriv --pdeathsig TERM)
fi

printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' \
  >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf

# getaddrinfo sorts its answers (RFC 3484 as glibc does it): the longest
# prefix shared with the source address wins, so 127.0.0.1 would always come
# first of many loopback addresses, and many.fault.test's dead ones would
# never be tried. glibc's default precedence table, plus a lower precedence
# for 127.0.0.1 alone, keeps the server's order among 127.0.0.0/8. Debian
# ships /etc/gai.conf; where there is none, the order is glibc's.
if [ -f /etc/gai.conf ]; then
  cat >"$work/gai.conf" <<'GAI'
precedence ::1/128 50
precedence ::/0 40
precedence 2002::/16 30
precedence ::/96 20
precedence ::ffff:0:0/96 10
precedence ::ffff:127.0.0.1/128 5
GAI
  mount --bind "$work/gai.conf" /etc/gai.conf
fi

${deathsig[@]+"${deathsig[@]}"} python3 "$here/dnsserver.py" \
  --host 127.0.0.1 --port "$dns_port" --zone test \
  </dev/null >"$work/dnsserver.port" 2>"$work/dnsserver.log" &
server_pid=$!

# --cache-size=0: every lookup of a .test name reaches the DNS server, so
# a test sees what a cold resolver sees, and caching stays the client's.
# --address=/#/ answers NXDOMAIN for every name no other line covers. The
# zone is the DNS server's, not an --address line: dnsmasq turns an
# NXDOMAIN under a domain it has an address for into "no data".
dnsmasq_args=(--keep-in-foreground --conf-file=/dev/null --pid-file=
  --user=root --group=root --no-resolv --no-hosts --no-poll
  --listen-address=127.0.0.1 --bind-interfaces --port=53
  --cache-size=0 --no-negcache --log-facility="$work/dnsmasq.log"
  --server="/test/127.0.0.1#$dns_port" --address=/#/)
for z in ${zones[@]+"${zones[@]}"}; do
  dnsmasq_args+=(--address="/${z%%=*}/${z#*=}")
done
${deathsig[@]+"${deathsig[@]}"} dnsmasq "${dnsmasq_args[@]}" \
  ${extra[@]+"${extra[@]}"} </dev/null 2>"$work/dnsmasq.err" &
dnsmasq_pid=$!

# Ready when a name of each kind resolves through libc, as the tests'
# lookups will, through dnsmasq to the DNS server.
ready=0
for _ in $(seq 100); do
  if getent hosts probe.test >/dev/null 2>&1 &&
    getent hosts v4only.fault.test >/dev/null 2>&1; then
    ready=1
    break
  fi
  if ! kill -0 "$dnsmasq_pid" 2>/dev/null ||
    ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  sleep 0.05
done
if [ "$ready" != 1 ]; then
  echo "netns.sh: DNS did not come up" >&2
  cat "$work/dnsmasq.err" "$work/dnsmasq.log" "$work/dnsserver.log" \
    >&2 2>/dev/null || true
  exit 1
fi

export UVFETCH_TEST_ISOLATED_NET=1 UVFETCH_TEST_DNS=1 UVFETCH_DNS_PORT=$dns_port
status=0
"$@" || status=$?
exit "$status"
}
