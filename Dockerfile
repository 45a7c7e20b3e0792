# syntax=docker/dockerfile:1
# The ambient-waypoint image: one image for every role (`waypoint`, `ztunnel`, `up`, ...), the
# subcommand is the container's first argument. Non-root, production dependencies only, the Wasm
# SDK samples built in. Build: docker build -t ambient-waypoint:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: TypeScript (and, through `npm run build`, the Wasm samples) with dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script to build, and the root postinstall
# installs the tests' schema validators (scripts/schema-validators), which the image does not run.
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
  # Tests are compiled with the rest; they are not shipped.
  && rm -rf dist/test

# ---- production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    AMBIENT_STATE_DIR=/var/run/ambient
WORKDIR /app
# Owned by root and read-only to the process: the running user can change nothing it executes.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Protobuf schemas loaded at run time (OTLP/gRPC tracing, the Istio workload API).
COPY proto ./proto
# The embedded local mesh (`up` without --config) and the example configs.
COPY deploy/local ./deploy/local
# The image's `node` user (uid/gid 1000): the Kubernetes manifests run as 1000 with runAsNonRoot.
USER 1000:1000
# HBONE, readiness (/healthz/ready), Prometheus (/stats/prometheus).
EXPOSE 15008 15021 15020
# The data-plane roles' V8 flags (src/runner/role-node-flags.ts, as `ambient up` passes them):
# a smaller young generation, ~20 MiB less RSS per role under load for a GC share within noise.
ENV NODE_OPTIONS=--max-semi-space-size=4
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["version"]
