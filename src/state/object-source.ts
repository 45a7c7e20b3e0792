/**
 * A config source other than the local directory (xDS, an Envoy bootstrap file, the Kubernetes
 * API) as the snapshot store sees it: its current translated objects and diagnostics, and a signal
 * when they change. Transport and translation stay behind it; the store only merges.
 *
 * A source keeps its own last good objects: a rejected resource (an xDS NACK) leaves its previous
 * version in `objects()`, and a lost connection leaves everything as it was (`status().stale`).
 */
import type { Diagnostic } from '../config/diagnostics.js';
import type { TranslatedObject } from '../config/from-k8s/translator.js';

export interface ObjectSourceStatus {
  /** False until the source has delivered its first complete config. */
  readonly synced: boolean;
  /** True when the source lost its control plane and serves what it had (last good). */
  readonly stale: boolean;
  /** A line for readiness and logs (`connected to 127.0.0.1:15010`, `reconnecting: ...`). */
  readonly detail: string;
}

export interface ObjectSource {
  /** For diagnostics and readiness: `xds 127.0.0.1:15010`, `bootstrap envoy.yaml`. */
  readonly name: string;
  objects(): readonly TranslatedObject[];
  diagnostics(): readonly Diagnostic[];
  status(): ObjectSourceStatus;
  /** Called after the objects or the status changed. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}
