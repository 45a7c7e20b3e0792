/**
 * V8 flags for the data-plane roles (waypoint, ztunnel) when `ambient up` or the bench starts them.
 *
 * `--max-semi-space-size=4` (MiB; V8's default on 64-bit is 16): the young generation stops
 * growing to 3 × 16 MiB under load. Measured with scripts/bench/probe.mjs, two interleaved pairs
 * under wrk: RSS peak waypoint 113 → 92 MiB, ztunnels 91–105 → 82–86 MiB; main-thread GC share of
 * busy time 3.6 → 3.8 % (waypoint) and 5.0–5.8 → 5.2–5.7 % (ztunnels) in CPU profiles. The
 * per-request objects of an exchange die young, so smaller semi-spaces mean more but cheaper
 * scavenges. docs/performance.md has the numbers; pass other flags with NODE_OPTIONS or node
 * itself to compare.
 *
 * The Dockerfile's NODE_OPTIONS and the Kubernetes manifests' and Helm chart's NODE_OPTIONS (which
 * replace the image's) repeat these flags; test/deploy checks that they agree. Session 4 measured
 * the other candidates (--optimize-for-size, --heap-growing-percent, --compact-on-every-full-gc,
 * --v8-pool-size, other semi-space sizes, malloc settings) and kept none: docs/performance.md.
 * Session 5 re-measured 1, 2, 4 and 16 on Node 24: 2 lowered the waypoint's peak at 1000 req/s by
 * ~15 MiB but its CPU cost could not be excluded on the shared machine, so 4 stays.
 */
export const DATA_PLANE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=4']);
