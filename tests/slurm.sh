#!/bin/bash
# Runs a throwaway one-node Slurm cluster on 127.0.0.1 for the uvfetch tests:
# munged, slurmctld and slurmd, each with its files in DIR and nothing of the
# machine's own set-up read or changed (/etc/munge, /etc/slurm, /run, /var).
#
#   tests/slurm.sh start DIR   make a munge key and slurm.conf in DIR, start
#                              the three daemons, wait until the node is idle,
#                              exit 0; exit 77 (with the reason on stderr)
#                              when this machine cannot run them
#   tests/slurm.sh stop DIR    stop the daemons whose pid files are in DIR
#
# DIR is made searchable (not writable) by all: munged asks that of its
# socket's directories. After start, DIR holds slurm.conf (point SLURM_CONF at it for sbatch,
# squeue, sacct and scontrol), munge/ (key, socket, log), state/, spool/,
# *.pid and *.log, and jobcomp.txt: one line per finished job.
#
# The cluster is named uvfetch-test; its node is called after this machine's
# short host name but is reached at 127.0.0.1, and the daemons are told both,
# so nothing needs a name resolved (the tests may run in a namespace without
# DNS). It has one partition, "test", the default, and as many CPUs as the
# machine but at least 16 (config_overrides lets it claim more than it has),
# so that a test's 16-task array runs at once: its jobs are light.
#
# Environment: MUNGED, SLURMCTLD, SLURMD override the daemons' paths.

set -eu

MUNGED=${MUNGED:-/usr/sbin/munged}
SLURMCTLD=${SLURMCTLD:-/usr/sbin/slurmctld}
SLURMD=${SLURMD:-/usr/sbin/slurmd}

die() {
  echo "slurm.sh: $*" >&2
  exit 1
}

skip() {
  echo "slurm.sh: cannot run a Slurm cluster here: $*" >&2
  exit 77
}

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

# Debian's slurmd and slurmctld packages would start system daemons from
# their postinst, reading /etc/slurm/slurm.conf; a temporary policy-rc.d
# forbids that, unless the machine already has one.
install_slurm() {
  local policy=/usr/sbin/policy-rc.d made=0 rc=0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurm-wlm munge >&2 || rc=$?
  if [ "$made" = 1 ]; then
    rm -f "$policy"
  fi
  return "$rc"
}

ensure_tools() {
  local t
  # slurmd starts jobs as their owner, which only root may do.
  [ "$(id -u)" = 0 ] || skip "slurmd must run as root"
  if [ ! -x "$MUNGED" ] || [ ! -x "$SLURMCTLD" ] || [ ! -x "$SLURMD" ] ||
    ! command -v sbatch >/dev/null; then
    install_slurm || true
  fi
  for t in "$MUNGED" "$SLURMCTLD" "$SLURMD"; do
    [ -x "$t" ] || skip "$t not found (apt-get install slurm-wlm munge)"
  done
  for t in mungekey sbatch squeue sinfo scontrol scancel python3; do
    command -v "$t" >/dev/null || skip "$t not found"
  done
  # The daemons find the address to listen on with getaddrinfo(NULL, port)
  # and AI_ADDRCONFIG, which glibc answers only where some IPv4 address
  # other than 127.0.0.1 is configured: in a namespace with nothing but lo,
  # they would retry for ten seconds and die. Any other address on lo, such
  # as 127.0.0.2/8, is enough.
  python3 -c '
import socket
socket.getaddrinfo(None, "1", socket.AF_INET, socket.SOCK_STREAM, 0,
                   socket.AI_PASSIVE | socket.AI_ADDRCONFIG)
' 2>/dev/null || skip "no IPv4 address but 127.0.0.1 (add 127.0.0.2/8 to lo)"
}

# Prints two distinct loopback ports that were free a moment ago (as in
# tests/nginx.sh).
free_ports() {
  python3 -c '
import socket
socks = []
for _ in range(2):
  s = socket.socket()
  s.bind(("127.0.0.1", 0))
  socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
'
}

# Prints the pid in file $1 when that process runs under the name $2.
running_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  case $pid in
    '' | *[!0-9]*) return 1 ;;
  esac
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

# Succeeds while process $1 runs; a zombie counts as gone.
alive() {
  local state
  state=$(sed -n 's/^[^)]*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) ||
    return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Stops the daemon whose pid file is $1 and whose name is $2: SIGTERM, up to
# 10 s, then SIGKILL.
stop_daemon() {
  local pid
  pid=$(running_pid "$1" "$2") || {
    rm -f "$1"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

cmd_stop() {
  local dir=$1
  # The job steps of a stopped cluster would run on unwatched: cancel them
  # first, while slurmctld still answers (bounded; it may be down already).
  if [ -f "$dir/slurm.conf" ] && running_pid "$dir/slurmctld.pid" \
    slurmctld >/dev/null; then
    SLURM_CONF=$dir/slurm.conf timeout 10 scancel --full \
      --partition test >/dev/null 2>&1 || true
  fi
  stop_daemon "$dir/slurmd.pid" slurmd
  stop_daemon "$dir/slurmctld.pid" slurmctld
  stop_daemon "$dir/munge/munged.pid" munged
}

write_conf() {
  local dir=$1 node=$2 ctld_port=$3 d_port=$4 cpus
  cpus=$(nproc)
  [ "$cpus" -ge 16 ] || cpus=16
  : >"$dir/plugstack.conf"
  cat >"$dir/slurm.conf" <<EOF
# Generated by tests/slurm.sh; rewritten on every start.
ClusterName=uvfetch-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
TmpFS=$dir/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
MessageTimeout=10
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=30 State=UP
EOF
}

# Succeeds once command $1 (a string for eval) succeeds, within $2 seconds
# of wall time however long each try takes; fails at once when the daemon
# with pid file $3 and name $4 has written that file and is gone.
wait_for() {
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -s "$3" ] && ! running_pid "$3" "$4" >/dev/null; then
      return 1
    fi
    if eval "$1"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

node_idle() {
  [ "$(timeout 5 sinfo -h -N -n "$1" -o %T 2>/dev/null)" = idle ]
}

fail_start() {
  local dir=$1 log
  shift
  echo "slurm.sh: $*" >&2
  for log in munge/munged.log slurmctld.log slurmd.log; do
    if [ -s "$dir/$log" ]; then
      echo "--- $log" >&2
      tail -n 15 "$dir/$log" >&2
    fi
  done
  cmd_stop "$dir"
  exit 1
}

cmd_start() {
  local dir=$1 node ports
  ensure_tools
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  cmd_stop "$dir"
  # munged wants every directory above its socket searchable by all, and
  # none of them (nor the key's) writable by others.
  chmod go+x,go-w "$dir"
  rm -rf "$dir/munge" "$dir/state" "$dir/spool" "$dir/tmp"
  mkdir -m 755 "$dir/munge"
  mkdir -p "$dir/state" "$dir/spool" "$dir/tmp"
  rm -f "$dir"/*.log "$dir/jobcomp.txt"
  # A unix socket's path has room for 107 bytes.
  [ "${#dir}" -le 80 ] || die "DIR's path is too long for munge's socket"
  mungekey --create --keyfile="$dir/munge/munge.key" ||
    die "mungekey: cannot create a key"
  "$MUNGED" --socket="$dir/munge/munge.socket" \
    --key-file="$dir/munge/munge.key" --log-file="$dir/munge/munged.log" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" ||
    fail_start "$dir" "munged did not start"

  node=$(hostname -s 2>/dev/null || true)
  [ -n "$node" ] || node=localhost
  ports=$(free_ports) || die "cannot find free ports"
  write_conf "$dir" "$node" "${ports% *}" "${ports#* }"
  export SLURM_CONF=$dir/slurm.conf
  # -i: ignore state a previous start may have saved in DIR.
  "$SLURMCTLD" -i -f "$SLURM_CONF" || fail_start "$dir" "slurmctld failed"
  wait_for "timeout 5 scontrol ping 2>/dev/null | grep -q UP" 30 \
    "$dir/slurmctld.pid" slurmctld ||
    fail_start "$dir" "slurmctld does not answer"
  "$SLURMD" -N "$node" -f "$SLURM_CONF" || fail_start "$dir" "slurmd failed"
  wait_for "node_idle '$node'" 30 "$dir/slurmd.pid" slurmd ||
    fail_start "$dir" "node $node did not come up idle"
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
