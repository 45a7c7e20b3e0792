/**
 * Envoy access-log format strings → {@link LogFormatIR}, at config time. Used for the mesh
 * config's `extensionProviders[].envoyFileAccessLog.logFormat` (`text`, or `labels` for JSON)
 * and `accessLogFormat` / `accessLogEncoding` (the built-in `envoy` provider).
 *
 * Grammar (Envoy's substitution format): literal text with `%COMMAND%`, `%COMMAND(arg)%` or
 * `%COMMAND(arg):N%` (value truncated to N characters) commands. The commands the waypoint can
 * fill are in {@link LOG_COMMANDS}; any other is reported (the line keeps working, printing `-`
 * there), since Envoy would refuse the whole config for it.
 */

/** One piece of a format: literal text, or a command to substitute. */
export type LogSegmentIR = string | { readonly command: string; readonly arg?: string; readonly maxLength?: number };

export type LogTemplateIR = readonly LogSegmentIR[];

export type LogFormatIR =
  /** One line per record: the template with commands substituted (`-` for missing values). */
  | { readonly kind: 'text'; readonly template: LogTemplateIR }
  /** One JSON object per record: each label's template; a lone command keeps its type (number, null). */
  | { readonly kind: 'json'; readonly labels: readonly (readonly [string, LogTemplateIR])[] };

/** Commands the waypoint's records can fill; `REQ`/`RESP` take a header name (`X?Y` = X else Y). */
export const LOG_COMMANDS: ReadonlySet<string> = new Set([
  'START_TIME',
  'REQ',
  'RESP',
  'PROTOCOL',
  'RESPONSE_CODE',
  'RESPONSE_FLAGS',
  'RESPONSE_CODE_DETAILS',
  'CONNECTION_TERMINATION_DETAILS',
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'BYTES_RECEIVED',
  'BYTES_SENT',
  'DURATION',
  'UPSTREAM_HOST',
  'UPSTREAM_CLUSTER',
  'UPSTREAM_CLUSTER_RAW',
  'UPSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_PEER_URI_SAN',
  'REQUESTED_SERVER_NAME',
  'ROUTE_NAME',
  'GRPC_STATUS_NUMBER',
]);

const COMMAND = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;

/** The template and the commands in it this waypoint cannot fill (printed as `-`). */
export function parseLogTemplate(text: string): { readonly template: LogTemplateIR; readonly unsupported: readonly string[] } {
  const template: LogSegmentIR[] = [];
  const unsupported: string[] = [];
  let last = 0;
  for (const m of text.matchAll(COMMAND)) {
    const at = m.index ?? 0;
    if (at > last) template.push(text.slice(last, at));
    const command = m[1] as string;
    if (!LOG_COMMANDS.has(command)) unsupported.push(command);
    template.push({ command, ...(m[2] !== undefined ? { arg: m[2] } : {}), ...(m[3] !== undefined ? { maxLength: Number(m[3]) } : {}) });
    last = at + m[0].length;
  }
  if (last < text.length) template.push(text.slice(last));
  return { template, unsupported };
}
