/**
 * What both upstream clients (HTTP/1.1 and HTTP/2) accept in a request before anything is sent:
 * the same rules undici and Node's http applied, so a request either client refuses is refused
 * the same way whatever the upstream protocol.
 */

/** A field name: an RFC 9110 token. */
export const FIELD_NAME_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value may not hold CR, LF, NUL or other controls (tab and obs-text are fine). */
export const INVALID_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A request target may not hold spaces or controls. */
export const INVALID_REQUEST_PATH = /[^\u0021-\u00ff]/;
