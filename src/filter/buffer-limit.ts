/**
 * Envoy's per-stream buffer limit: how much of a body a filter may hold while it stops iteration
 * and buffers (a Wasm plugin pausing a body, ext_authz `with_request_body`). Envoy derives it from
 * the listener's `per_connection_buffer_limit_bytes`, 1 MiB by default. Past it:
 * - a request being buffered gets 413 `Payload Too Large` (details `request_payload_too_large`);
 * - a response being buffered resets the stream when its headers already left (Envoy answers 500
 *   only when they have not; here a response body is only filtered after its headers went out).
 * The router's own buffer for retries uses the same size but never answers 413: past it the
 * request simply stops being retriable (src/waypoint/replay-body.ts).
 */
import type { Respond } from './api.js';
import { respond } from './api.js';

/** Envoy's default `per_connection_buffer_limit_bytes`. */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

/** Envoy's answer when a filter needs to buffer more request body than the limit. */
export const PAYLOAD_TOO_LARGE: Respond = respond({ status: 413, body: 'Payload Too Large', details: 'request_payload_too_large' });

/** A response body buffered past the limit (a body-phase `respond` resets the stream). */
export const RESPONSE_PAYLOAD_TOO_LARGE: Respond = respond({ status: 500, body: 'Internal Server Error', details: 'response_payload_too_large' });
