/**
 * Which HTTP/1.1 request targets a request may carry into the waypoint (RFC 9112 §3.2).
 */

/**
 * Is an HTTP/1 request target acceptable? Origin-form (`/path`) always; `*` only with OPTIONS;
 * absolute-form only when its authority is the Host header (RFC 9112 §3.2.2 lets a server
 * take the target's authority over Host: a proxy that routes on one while the app reads the
 * other is the confusion a smuggler wants, so both must agree). Authority-form is CONNECT's,
 * which does not belong inside a tunnel.
 */
export function acceptableTarget(method: string, target: string, host: string | undefined): boolean {
  if (target.charCodeAt(0) === 0x2f /* / */) return true;
  if (target === '*') return method === 'OPTIONS';
  const scheme = target.startsWith('http://') ? 7 : target.startsWith('https://') ? 8 : 0;
  if (scheme === 0 || host === undefined) return false;
  let end = target.length;
  for (let i = scheme; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const authority = target.slice(scheme, end);
  if (authority.length === 0 || authority.includes('@')) return false;
  return authority.toLowerCase() === host.toLowerCase();
}
