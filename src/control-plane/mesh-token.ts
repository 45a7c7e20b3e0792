/**
 * Bearer tokens of the local mesh: what a ztunnel or waypoint sends to the local istiod
 * (`authorization: Bearer <token>`, ztunnel's `AUTH_TOKEN`) in place of a Kubernetes
 * service-account token. There is no API server to review a token, so the local CA vouches for it:
 * a token names its subject and carries an HMAC-SHA256 under a key derived from the CA's root key.
 * Whoever holds the state directory can mint tokens, exactly as they can already issue
 * certificates from it; a token from another mesh (another root) does not verify.
 *
 * Format: `aw1.<base64url(JSON subject)>.<base64url(mac)>`.
 */
const { createHmac, timingSafeEqual } = process.getBuiltinModule('node:crypto');

/** Who a token speaks for; the entitlement rule (ca-entitlement.ts) maps it to identities. */
export type TokenSubject =
  /** One pod, e.g. an Istio ztunnel in dedicated mode proxying only that pod. */
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string }
  /** A node agent (a shared-mode ztunnel): every pod scheduled on the node. */
  | { readonly kind: 'node'; readonly node: string }
  /** A waypoint: the identity of its Gateway's service account. */
  | { readonly kind: 'waypoint'; readonly namespace: string; readonly name: string };

const PREFIX = 'aw1';

export function mintToken(key: Buffer, subject: TokenSubject): string {
  const body = Buffer.from(JSON.stringify(subject)).toString('base64url');
  return `${PREFIX}.${body}.${mac(key, body)}`;
}

/** The subject of a valid token, or undefined (wrong mesh, tampered, malformed). */
export function verifyToken(key: Buffer, token: string): TokenSubject | undefined {
  const [prefix, body, sig, ...rest] = token.split('.');
  if (prefix !== PREFIX || !body || !sig || rest.length > 0) return undefined;
  const want = Buffer.from(mac(key, body));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return asSubject(parsed);
}

/** `pod:ns/name`, `node:name`, `waypoint:ns/name` (the CLI's spelling). */
export function parseSubject(text: string): TokenSubject | undefined {
  const m = /^(pod|node|waypoint):(.+)$/.exec(text);
  if (!m) return undefined;
  const [, kind, rest] = m;
  if (kind === 'node') return rest && !rest.includes('/') ? { kind: 'node', node: rest } : undefined;
  const parts = rest!.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { kind: kind === 'pod' ? 'pod' : 'waypoint', namespace: parts[0], name: parts[1] };
}

export function describeSubject(s: TokenSubject): string {
  return s.kind === 'node' ? `node:${s.node}` : `${s.kind}:${s.namespace}/${s.name}`;
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`${PREFIX}.${body}`).digest('base64url');
}

function asSubject(v: unknown): TokenSubject | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = o[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  switch (o['kind']) {
    case 'node': {
      const node = str('node');
      return node ? { kind: 'node', node } : undefined;
    }
    case 'pod':
    case 'waypoint': {
      const namespace = str('namespace');
      const name = str('name');
      return namespace && name ? { kind: o['kind'], namespace, name } : undefined;
    }
    default:
      return undefined;
  }
}
