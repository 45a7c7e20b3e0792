#!/usr/bin/env bash
# Installs the Debian packages `npm run bench` drives, when it can (root with apt-get):
#   wrk (HTTP/1.1 load), nghttp2-client (h2load: HTTP/2 and gRPC load), haproxy (the peer L7
#   proxy), nginx (the small-request backend). Otherwise it says which are missing and the bench
#   skips the rows that need them. Never fails.
set -u
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-bench-tools: cannot install ${need[*]} (needs root and apt-get); rows that need them are skipped" >&2
  exit 0
fi
echo "install-bench-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || echo "install-bench-tools: could not install ${need[*]}; rows that need them are skipped" >&2
fi
# The Debian packages start system services on install; the bench runs its own instances.
for svc in nginx haproxy; do
  command -v systemctl >/dev/null 2>&1 && systemctl stop "$svc" >/dev/null 2>&1 || true
done
exit 0
