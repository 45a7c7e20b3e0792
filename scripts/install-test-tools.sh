#!/usr/bin/env bash
# Installs the Debian packages that some tests use, when it can (root with apt-get); otherwise
# says so and those tests skip with a message. Never fails the build.
#   python3-h2: the independent HTTP/2 stack of the HBONE interop test (test/interop/hbone_peer.py)
set -u
need=()
/usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || need+=(python3-h2)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-tools: cannot install ${need[*]} (needs root and apt-get); the interop tests will skip" >&2
  exit 0
fi
echo "install-test-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "install-test-tools: could not install ${need[*]}; the interop tests will skip" >&2
fi
exit 0
