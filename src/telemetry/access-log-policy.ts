/**
 * The Telemetry API's `accessLogging` applied to a running waypoint: per view, the most specific
 * Telemetry wins — `targetRefs` to this waypoint's Gateway, else one in the waypoint's namespace
 * without targets, else one in the root namespace (mesh-wide) — and the sink's format follows it
 * (`setFormat`). Without any, the command-line format stays. Resolved once per view change, never
 * per request.
 */
import type { Snapshot, WaypointRef } from '../config/ir.js';
import type { TelemetryIR } from '../config/ir-telemetry.js';
import { BUILTIN_ACCESS_LOG_PROVIDERS } from '../config/ir-telemetry.js';
import type { ViewSource } from '../state/view-source.js';
import type { LogFormatIR } from '../config/log-format.js';
import type { AccessLogFormat } from './access-log.js';

/** Istio's default provider when an entry names none. */
const DEFAULT_PROVIDER = 'envoy';

/**
 * The Telemetry objects that apply to a waypoint, most specific level first: `targetRefs` to its
 * Gateway, then its namespace's, then the root namespace's (mesh-wide). Istio breaks ties between
 * equally specific objects by age; files carry none, so by name.
 */
export function telemetryLevels(snapshot: Snapshot, waypoint: WaypointRef): TelemetryIR[][] {
  const all = snapshot.telemetries ?? [];
  if (all.length === 0) return [];
  const root = snapshot.mesh.rootNamespace;
  const byGateway = (t: TelemetryIR): boolean => t.namespace === waypoint.namespace && t.targets.some((x) => x.kind === 'Gateway' && x.name === waypoint.name);
  const inNamespace = (ns: string) => (t: TelemetryIR): boolean => t.namespace === ns && t.targets.some((x) => x.kind === 'Namespace');
  const levels = [byGateway, inNamespace(waypoint.namespace), ...(root !== waypoint.namespace ? [inNamespace(root)] : [])];
  return levels.map((matches) => all.filter(matches).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}

/** The format the Telemetry objects ask of this waypoint; undefined when none applies. */
export function accessLogFormatFor(snapshot: Snapshot, waypoint: WaypointRef): AccessLogFormat | undefined {
  return accessLogChoiceFor(snapshot, waypoint)?.format;
}

/** A format, and the provider's custom line format when the mesh config gives one. */
export interface AccessLogChoice {
  readonly format: AccessLogFormat;
  readonly custom?: LogFormatIR;
}

/** What the Telemetry objects ask of this waypoint; undefined when none applies. */
export function accessLogChoiceFor(snapshot: Snapshot, waypoint: WaypointRef): AccessLogChoice | undefined {
  for (const level of telemetryLevels(snapshot, waypoint)) {
    for (const t of level) {
      const choice = choiceOf(t, snapshot);
      if (choice) return choice;
    }
  }
  return undefined;
}

/** `disabled` → off; else the first provider the mesh knows decides text or JSON, and the line format. */
function choiceOf(t: TelemetryIR, snapshot: Snapshot): AccessLogChoice | undefined {
  const logging = t.accessLogging;
  if (!logging) return undefined;
  if (logging.disabled) return { format: 'off' };
  const names = logging.providers.length > 0 ? logging.providers : [DEFAULT_PROVIDER];
  for (const name of names) {
    const encoding = snapshot.mesh.accessLogProviders?.[name] ?? BUILTIN_ACCESS_LOG_PROVIDERS[name];
    if (encoding) return providerChoice(snapshot, name, encoding);
  }
  return undefined;
}

function providerChoice(snapshot: Snapshot, name: string, encoding: AccessLogFormat): AccessLogChoice {
  const custom = snapshot.mesh.accessLogFormats?.[name];
  return custom ? { format: custom.kind, custom } : { format: encoding };
}

export interface AccessLogFormatTarget {
  setFormat(format: AccessLogFormat, custom?: LogFormatIR): void;
}

/**
 * Keeps `target`'s format in line with the view: the Telemetry API's when one applies, else
 * `fallback` (the flag) — in the mesh config's `accessLogFormat`/`accessLogEncoding` when it sets
 * them, as Istio's default logging uses them. Returns the unsubscribe function.
 */
export function followAccessLogPolicy(view: ViewSource, waypoint: WaypointRef, target: AccessLogFormatTarget, fallback: AccessLogFormat): () => void {
  const apply = (snapshot: Snapshot): void => {
    const choice = accessLogChoiceFor(snapshot, waypoint) ?? (fallback === 'off' ? { format: fallback } : providerChoice(snapshot, DEFAULT_PROVIDER, fallback));
    target.setFormat(choice.format, choice.custom);
  };
  apply(view.current().snapshot);
  return view.onChange((v) => apply(v.snapshot));
}
