/**
 * Trace context propagation as Envoy's tracers do it at a waypoint: read the caller's context
 * from W3C `traceparent` (`tracestate` passed through) or B3 (`b3` single header, or
 * `x-b3-traceid`/`x-b3-spanid`/`x-b3-sampled`), start this hop's span as its child (a new trace
 * when there is none), and hand the upstream a context whose parent is this hop's span.
 *
 * Sampling follows the caller's decision when it made one, else the configured percentage
 * (Istio's `sampling`, default 1%). Parsing is by fixed offsets and character checks: no regex
 * per request.
 */
const { randomBytes } = process.getBuiltinModule('node:crypto');

export interface TraceContext {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** This span's id: 16 lowercase hex digits. */
  readonly spanId: string;
  /** The caller's span, when there was one. */
  readonly parentSpanId?: string;
  readonly sampled: boolean;
  /** W3C `tracestate`, passed through unchanged. */
  readonly tracestate?: string;
}

/** The caller's context as it arrived. */
export interface IncomingContext {
  readonly traceId: string;
  readonly spanId: string;
  /** undefined: the caller deferred the decision. */
  readonly sampled?: boolean;
  readonly tracestate?: string;
}

function isHex(s: string, len: number): boolean {
  if (s.length !== len) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function allZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

/** W3C `traceparent`: `00-<32 hex trace>-<16 hex span>-<2 hex flags>`; undefined when invalid. */
export function parseTraceparent(header: string | undefined, tracestate?: string): IncomingContext | undefined {
  if (!header || header.length < 55) return undefined;
  const version = header.slice(0, 2);
  // Version ff is invalid; future versions may append fields after the flags.
  if (!isHex(version, 2) || version === 'ff' || header[2] !== '-' || header[35] !== '-' || header[52] !== '-') return undefined;
  if (version === '00' && header.length !== 55) return undefined;
  const traceId = header.slice(3, 35);
  const spanId = header.slice(36, 52);
  const flags = header.slice(53, 55);
  if (!isHex(traceId, 32) || !isHex(spanId, 16) || !isHex(flags, 2) || allZero(traceId) || allZero(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, ...(tracestate ? { tracestate } : {}) };
}

/** B3 single header: `<trace>-<span>[-<sampled>[-<parent>]]`, or just `0`/`1`/`d` (decision only). */
export function parseB3Single(header: string | undefined): IncomingContext | undefined {
  if (!header) return undefined;
  const parts = header.split('-');
  const [trace, span, sampled] = parts;
  if (!trace || !span) return undefined;
  const traceId = trace.length === 16 ? `0000000000000000${trace}` : trace;
  if (!isHex(traceId, 32) || !isHex(span, 16) || allZero(traceId) || allZero(span)) return undefined;
  return { traceId, spanId: span, ...(sampled === undefined ? {} : { sampled: sampled === '1' || sampled === 'd' }) };
}

/** B3 multi headers (`x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags`). */
export function parseB3Multi(traceIdHeader: string | undefined, spanIdHeader: string | undefined, sampledHeader?: string, flagsHeader?: string): IncomingContext | undefined {
  if (!traceIdHeader || !spanIdHeader) return undefined;
  const traceId = traceIdHeader.length === 16 ? `0000000000000000${traceIdHeader}` : traceIdHeader;
  if (!isHex(traceId, 32) || !isHex(spanIdHeader, 16) || allZero(traceId) || allZero(spanIdHeader)) return undefined;
  const sampled = flagsHeader === '1' ? true : sampledHeader === undefined ? undefined : sampledHeader === '1' || sampledHeader === 'true';
  return { traceId, spanId: spanIdHeader, ...(sampled === undefined ? {} : { sampled }) };
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * This hop's span: a child of `incoming` (same trace, parent = the caller's span) or the root of
 * a new trace. `samplingPercent` applies only when the caller did not decide.
 */
export function startSpan(incoming: IncomingContext | undefined, samplingPercent: number, random: () => number = Math.random): TraceContext {
  const sampled = incoming?.sampled ?? random() * 100 < samplingPercent;
  if (!incoming) return { traceId: newTraceId(), spanId: newSpanId(), sampled };
  return {
    traceId: incoming.traceId,
    spanId: newSpanId(),
    parentSpanId: incoming.spanId,
    sampled,
    ...(incoming.tracestate ? { tracestate: incoming.tracestate } : {}),
  };
}

/** The `traceparent` the upstream gets: this span as its parent. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

/** The B3 headers the upstream gets (Envoy forwards both styles when the caller used B3). */
export function b3Headers(ctx: TraceContext): Readonly<Record<string, string>> {
  return {
    'x-b3-traceid': ctx.traceId,
    'x-b3-spanid': ctx.spanId,
    ...(ctx.parentSpanId ? { 'x-b3-parentspanid': ctx.parentSpanId } : {}),
    'x-b3-sampled': ctx.sampled ? '1' : '0',
  };
}
