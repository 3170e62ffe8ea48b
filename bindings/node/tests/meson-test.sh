#!/bin/sh
# The node suite, as meson runs it (tests/meson.build, suite 'node'):
#   bindings/node/tests/meson-test.sh DIR [TEST FILE...]
# Builds the addon with node-gyp into DIR (a copy of the package's build
# files, so that two build trees never share bindings/node/build), then runs
# `node --test` on the test files with $UVFETCH_ADDON pointing at it. Exits
# 77 (skipped) when node or node-gyp cannot be had. The last line printed is
# "N passed, N failed".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(dirname "$here")
top=$(cd "$pkg/../.." && pwd)
dir=${1:?usage: meson-test.sh DIR [TEST FILE...]}
shift

if ! command -v node >/dev/null 2>&1; then
  echo "skipped: no node on PATH (scripts/setup --tests installs nodejs)"
  exit 77
fi
mkdir -p "$dir/src" "$dir/scripts"
# cp -p keeps times, so make rebuilds only what changed.
cp -p "$pkg/binding.gyp" "$pkg/package.json" "$dir/"
cp -p "$pkg/src/addon.c" "$dir/src/"
cp -p "$pkg/scripts/build.js" "$pkg/scripts/engine.js" "$dir/scripts/"
export UVFETCH_ROOT="$top"
rc=0
if [ -f "$dir/build/Makefile" ]; then
  # configure again: the engine may have gained a source file
  node "$dir/scripts/build.js" configure >"$dir/build.log" 2>&1 &&
    node "$dir/scripts/build.js" build >>"$dir/build.log" 2>&1 || rc=$?
else
  node "$dir/scripts/build.js" rebuild >"$dir/build.log" 2>&1 || rc=$?
fi
if [ "$rc" = 77 ]; then
  cat "$dir/build.log"
  echo "skipped: node-gyp not found"
  exit 77
fi
if [ "$rc" != 0 ]; then
  cat "$dir/build.log"
  echo "node-gyp failed ($rc)"
  echo "0 passed, 1 failed"
  exit 1
fi
export UVFETCH_ADDON="$dir/build/Release/uvfetch.node"
[ $# -gt 0 ] || set -- "$here"/*.test.js
rc=0
node --test --test-reporter=tap "$@" >"$dir/tap.log" 2>&1 || rc=$?
cat "$dir/tap.log"
awk '/^# pass /{p=$3} /^# fail /{f=$3} /^# cancelled /{c=$3}
  END {print p+0 " passed, " f+c " failed"}' "$dir/tap.log"
exit $rc
