/**
 * What every xDS config source shares (Envoy ADS, Istio's workload API): the translated objects
 * it serves, the latest problems per resource type, and its status — synced after the first
 * complete config, stale while the control plane is away (the last good config keeps serving),
 * with a readable detail for readiness and logs. Subclasses own the client and the translation.
 */
import type { Diagnostic } from '../config/diagnostics.js';
import type { TranslatedObject } from '../config/from-k8s/translator.js';
import type { ResourceProblem } from '../config/from-xds/envoy-resources.js';
import type { ObjectSource, ObjectSourceStatus } from '../state/object-source.js';
import { problemDiagnostic } from './envoy-bootstrap-source.js';
import type { XdsClientEvent } from './xds-client.js';

export abstract class XdsSourceBase implements ObjectSource {
  protected objs: readonly TranslatedObject[] = [];
  /** Latest problems per type (a later good push of the type clears them). */
  protected readonly problems = new Map<string, readonly ResourceProblem[]>();
  protected readonly received = new Set<string>();
  protected synced = false;
  protected stale = false;
  private detail = 'connecting';
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    /** `host:port` of the control plane. */
    protected readonly address: string,
    private readonly forward: ((event: XdsClientEvent) => void) | undefined,
  ) {}

  /** Stops the client. */
  protected abstract stop(): void;

  objects(): readonly TranslatedObject[] {
    return this.objs;
  }

  diagnostics(): readonly Diagnostic[] {
    return [...this.problems.values()].flat().map((p) => problemDiagnostic(p, `xds://${this.address}`));
  }

  status(): ObjectSourceStatus {
    return { synced: this.synced, stale: this.stale, detail: this.detail };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.stop();
    this.listeners.clear();
  }

  /** The client's events: connection state into the status (stale once a synced source loses it). */
  protected onEvent(e: XdsClientEvent): void {
    if (e.kind === 'connected') this.detail = `connected to ${this.address}`;
    if (e.kind === 'disconnected') {
      this.detail = `control plane ${this.address} unreachable (${e.error}); retrying in ${e.retryInMs} ms`;
      if (this.synced && !this.stale) {
        this.stale = true;
        this.emit();
      }
    }
    this.forward?.(e);
  }

  protected emit(): void {
    for (const l of [...this.listeners]) l();
  }
}
