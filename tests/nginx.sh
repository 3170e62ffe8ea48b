#!/bin/bash
# Runs a throwaway nginx on 127.0.0.1 (and ::1) for the uvfetch tests and
# benchmarks.
#
#   tests/nginx.sh start DIR   build a corpus, certificates and config in DIR,
#                              start nginx, wait until it accepts, exit 0
#   tests/nginx.sh stop DIR    stop the nginx whose pid file is in DIR
#
# After start, DIR holds:
#   www/f0 .. www/f999  1024 bytes each: "fN\n", then the pattern below
#   www/sizes/N         exactly N bytes of the pattern, N in 0 1 1000 65536
#                       1048576 10485760
#   www/big.txt         204800 bytes of text, served gzipped on request
#   ca.pem              the root CA to pass as --cacert, the only one a
#                       client needs to trust
#   intermediate.pem    the CA the root signed, which signed the server's
#                       certificate; nginx sends it after that certificate
#   server.pem          the server's certificate, then intermediate.pem; for
#                       127.0.0.1, ::1, localhost, github.test, cusy.test,
#                       and any name in readthedocs.test, many.test,
#                       names.test or fault.test (one label more: a
#                       wildcard stands for one label), and $NGINX_SANS
#   http_port           port of plain HTTP/1.1 (keep-alive)
#   https_port          port of HTTPS with HTTP/2 (ALPN) and HTTP/1.1
#   ipv6                "1" when nginx also listens on [::1] at both ports
#                       (names with an AAAA record only reach it there),
#                       "0" when this machine has no ::1
#   nginx.conf, nginx.pid, error.log, tmp/
# The pattern repeats "abcdefghijklmnopqrstuvwxyz0123456789\n" (37 bytes), the
# same bytes tests/server.py sends for /size/N. Files without an extension
# are application/octet-stream and never gzipped, so their sizes on the wire
# are exact; .txt is text/plain and gzipped when the client accepts it.
#
# Any Host is served the same files, so every name that resolves to
# loopback reaches them.
#
# Environment: NGINX overrides /usr/sbin/nginx; NGINX_SANS adds entries to
# the server certificate's subjectAltName, e.g. "DNS:*.crawl.test".

set -eu

NGINX=${NGINX:-/usr/sbin/nginx}
PATTERN=abcdefghijklmnopqrstuvwxyz0123456789
SIZES="0 1 1000 65536 1048576 10485760"

die() {
  echo "nginx.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

# Debian's package would start a system nginx on port 80 from its postinst;
# a temporary policy-rc.d forbids that, unless the machine already has one.
install_nginx() {
  local policy=/usr/sbin/policy-rc.d made=0 rc=0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light openssl \
    >&2 || rc=$?
  if [ "$made" = 1 ]; then
    rm -f "$policy"
  fi
  return "$rc"
}

ensure_tools() {
  if [ ! -x "$NGINX" ] || ! command -v openssl >/dev/null; then
    install_nginx || true
  fi
  [ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx-light)"
  command -v openssl >/dev/null || die "openssl not found"
  command -v python3 >/dev/null || die "python3 not found"
}

make_corpus() {
  local www=$1 n
  rm -rf "$www"
  mkdir -p "$www/sizes"
  for n in $SIZES; do
    # yes repeats "$PATTERN\n", which is the pattern exactly.
    yes "$PATTERN" | head -c "$n" >"$www/sizes/$n"
  done
  # One awk process writes all thousand files; a loop of shell pipelines
  # would spend seconds on fork and exec.
  awk -v dir="$www" -v pat="$PATTERN" 'BEGIN {
    unit = pat "\n"
    fill = unit
    while (length(fill) < 2048)
      fill = fill fill
    for (i = 0; i < 1000; i++) {
      head = "f" i "\n"
      file = dir "/f" i
      printf "%s%s", head, substr(fill, 1, 1024 - length(head)) > file
      close(file)
    }
  }'
  awk 'BEGIN {
    for (i = 0; i < 4000; i++)
      printf "line %d: the quick brown fox jumps over the lazy dog\n", i
  }' | head -c 204800 >"$www/big.txt"
  for n in $SIZES; do
    [ "$(stat -c %s "$www/sizes/$n")" = "$n" ] || die "corpus size $n wrong"
  done
  [ "$(stat -c %s "$www/f999")" = 1024 ] || die "corpus f999 wrong"
  [ "$(stat -c %s "$www/big.txt")" = 204800 ] || die "corpus big.txt wrong"
}

# Signs $2.csr in DIR with the CA $3 (file names without .pem/.key), with
# the extensions in $4, into $2.pem.
sign() {
  local dir=$1 name=$2 ca=$3 ext=$4
  printf '%s\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" \
    -CAkey "$dir/$ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 3650 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null ||
    die "openssl: cannot sign $name"
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# Makes a key and a certificate request for $2 in DIR.
request() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1/$2.key" -out "$1/$2.csr" -subj "/CN=$3" 2>/dev/null ||
    die "openssl: cannot create the key for $2"
}

# A chain as the world has it: a root CA, which clients trust; an
# intermediate CA, which the root signed; the server's certificate, which
# the intermediate signed. The server sends its own and the intermediate,
# so a client that trusts only the root must build the chain.
make_certs() {
  local dir=$1 sans
  # EC keys keep generation in milliseconds; the CAs live only for this DIR.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
    -subj "/CN=uvfetch test root CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
    die "openssl: cannot create the CA"
  request "$dir" intermediate "uvfetch test intermediate CA"
  sign "$dir" intermediate ca "basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer"
  sans="IP:127.0.0.1, IP:::1, DNS:localhost, DNS:github.test, DNS:cusy.test"
  sans="$sans, DNS:*.readthedocs.test, DNS:*.many.test, DNS:*.names.test"
  sans="$sans, DNS:*.fault.test${NGINX_SANS:+, $NGINX_SANS}"
  request "$dir" leaf localhost
  sign "$dir" leaf intermediate "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $sans
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer"
  openssl verify -CAfile "$dir/ca.pem" -untrusted "$dir/intermediate.pem" \
    "$dir/leaf.pem" >/dev/null || die "openssl: the chain does not verify"
  cat "$dir/leaf.pem" "$dir/intermediate.pem" >"$dir/server.pem"
  mv "$dir/leaf.key" "$dir/server.key"
  rm -f "$dir/leaf.pem" "$dir/intermediate.key" "$dir/ca.key"
}

# Prints two distinct ports that were free a moment ago, on 127.0.0.1 and,
# when $1 is 1, on ::1 as well. All sockets stay bound until both ports are
# known, so the kernel cannot hand out one twice.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
v6 = sys.argv[1] == "1"
socks = []
ports = []
while len(ports) < 2:
  s = socket.socket()
  s.bind(("127.0.0.1", 0))
  port = s.getsockname()[1]
  if v6:
    s6 = socket.socket(socket.AF_INET6)
    try:
      s6.bind(("::1", port))
    except OSError:
      s.close()
      continue
    socks.append(s6)
  socks.append(s)
  ports.append(port)
print(ports[0], ports[1])
PY
}

# Succeeds when this machine has a ::1 to listen on.
has_ipv6() {
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null
}

nginx_version_at_least() {
  local have
  have=$("$NGINX" -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
  [ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n 1)" = "$1" ]
}

write_conf() {
  local dir=$1 http_port=$2 https_port=$3 v6=$4 user="" listen_h2 h2_on="" m
  local listen_http="listen 127.0.0.1:$http_port;"
  local temps="client_body_temp_path $dir/tmp/client_body;"
  # Workers of a root master run as nobody by default and could not read a
  # 0700 DIR such as mktemp -d makes; as root, keep them root.
  if [ "$(id -u)" = 0 ]; then
    user="user root;"
  fi
  # nginx 1.25.1 replaced "listen ... http2" with the http2 directive.
  if nginx_version_at_least 1.25.1; then
    listen_h2="listen 127.0.0.1:$https_port ssl;"
    h2_on="http2 on;"
  else
    listen_h2="listen 127.0.0.1:$https_port ssl http2;"
  fi
  if [ "$v6" = 1 ]; then
    listen_http="$listen_http
    listen [::1]:$http_port;"
    listen_h2="$listen_h2
    ${listen_h2/127.0.0.1/[::1]}"
  fi
  # Every compiled-in module's temp path defaults to /var/lib/nginx, which
  # a non-root run cannot create; point each present one into DIR.
  for m in proxy fastcgi uwsgi scgi; do
    if ! "$NGINX" -V 2>&1 | grep -q -- "--without-http_${m}_module"; then
      temps="$temps
  ${m}_temp_path $dir/tmp/$m;"
    fi
  done
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# Generated by tests/nginx.sh; rewritten on every start.
$user
daemon on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;

events {
  worker_connections 4096;
}

http {
  types {
    text/plain txt;
    text/html html;
    application/json json;
  }
  default_type application/octet-stream;
  access_log off;
  $temps

  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 100000;

  gzip on;
  gzip_types text/plain application/json;
  gzip_min_length 256;
  gzip_vary on;

  server {
    $listen_http
    server_name 127.0.0.1 localhost;
    root $dir/www;
  }

  server {
    $listen_h2
    $h2_on
    server_name 127.0.0.1 localhost;
    root $dir/www;
    ssl_certificate $dir/server.pem;
    ssl_certificate_key $dir/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
  }
}
EOF
}

# Succeeds once something accepts TCP connections on 127.0.0.1:$1.
accepts() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Prints the pid from DIR/nginx.pid when that process is an nginx.
running_pid() {
  local pid
  [ -s "$1/nginx.pid" ] || return 1
  pid=$(cat "$1/nginx.pid")
  case $pid in
    '' | *[!0-9]*) return 1 ;;
  esac
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ] || return 1
  echo "$pid"
}

# Succeeds while process $1 runs. A daemon's exit leaves a zombie until
# init reaps it, which can take a while; kill -0 would count that as alive.
alive() {
  local state
  state=$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) ||
    return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

cmd_stop() {
  local dir=$1 pid
  pid=$(running_pid "$dir") || {
    rm -f "$dir/nginx.pid"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/nginx.pid"
}

cmd_start() {
  local dir=$1 ports http_port https_port attempt ok v6=0
  ensure_tools
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  cmd_stop "$dir"
  rm -f "$dir/http_port" "$dir/https_port" "$dir/ipv6" "$dir/error.log"
  make_corpus "$dir/www"
  make_certs "$dir"
  if has_ipv6; then
    v6=1
  fi

  # Another process may take a port between choosing and binding it; then
  # nginx fails to start and we simply choose again.
  for attempt in 1 2 3 4 5; do
    ports=$(free_ports "$v6") || die "cannot find free ports"
    http_port=${ports% *}
    https_port=${ports#* }
    write_conf "$dir" "$http_port" "$https_port" "$v6"
    "$NGINX" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" ||
      die "bad config, see $dir/error.log"
    if "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"; then
      ok=0
      for _ in $(seq 200); do
        if accepts "$http_port" && accepts "$https_port"; then
          ok=1
          break
        fi
        sleep 0.05
      done
      if [ "$ok" = 1 ]; then
        echo "$http_port" >"$dir/http_port"
        echo "$https_port" >"$dir/https_port"
        echo "$v6" >"$dir/ipv6"
        return 0
      fi
      cmd_stop "$dir"
    fi
    echo "nginx.sh: start attempt $attempt failed" >&2
  done
  tail -n 20 "$dir/error.log" >&2 2>/dev/null || true
  die "nginx did not start"
}

[ $# = 2 ] || usage
case $1 in
  start) cmd_start "$2" ;;
  stop)
    [ -d "$2" ] || exit 0
    cmd_stop "$(cd "$2" && pwd)"
    ;;
  *) usage ;;
esac
