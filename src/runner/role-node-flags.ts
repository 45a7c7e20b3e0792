const v8 = process.getBuiltinModule('node:v8');

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
 * Re-measured on Node 24.22.3 (session 5, docs/performance.md "V8 flags on Node 24"): 4 still gives
 * the lowest RSS at rest (92–96 vs 99–102 MiB at 16) without costing CPU per request; 2 saves ~4 MiB
 * at rest but promoted per-request objects (waypoint peak 155–159 MiB under saturation).
 *
 * The Dockerfile's NODE_OPTIONS and the Kubernetes manifests' and Helm chart's NODE_OPTIONS (which
 * replace the image's) repeat these flags; test/deploy checks that they agree. Session 4 measured
 * the other candidates (--optimize-for-size, --heap-growing-percent, --compact-on-every-full-gc,
 * --v8-pool-size, other semi-space sizes, malloc settings) and kept none: docs/performance.md.
 * Session 5 re-measured 1, 2, 4 and 16 on Node 24: 2 lowered the waypoint's peak at 1000 req/s by
 * ~15 MiB but its CPU cost could not be excluded on the shared machine, so 4 stays.
 */
export const DATA_PLANE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=4']);

/**
 * V8 flags a data-plane role sets on itself when it starts ({@link applyDataPlaneV8Flags}), because
 * Node refuses them in NODE_OPTIONS (so the image and the manifests could not carry them) and the
 * role's own start is the one place every way of running it passes through.
 *
 * `--external-memory-accounted-in-global-limit`: count ArrayBuffer backing stores (every socket
 * read and HBONE DATA chunk is one) in V8's global heap limit instead of the separate external
 * limit whose every 64 MiB overshoot starts a mark-compact. A ztunnel moving a bulk body ran a
 * major GC every ~25 MiB without it. Node 24, 512 MiB L4 downloads, two alternated pairs:
 * mark-compacts sending ztunnel 23/24 → 11/8, receiving 21/13 → 11/2; CPU-s per GiB 2.52/2.22 →
 * 2.04/1.56 and 2.80/2.94 → 2.32/2.00 (docs/performance.md, session 5).
 */
export const DATA_PLANE_V8_FLAGS: readonly string[] = Object.freeze(['--external-memory-accounted-in-global-limit']);

/** Sets {@link DATA_PLANE_V8_FLAGS} in this process (early in a role's start, before its traffic). */
export function applyDataPlaneV8Flags(): void {
  for (const f of DATA_PLANE_V8_FLAGS) v8.setFlagsFromString(f);
}
