/**
 * A message the HTTP/1.1 codec refuses: malformed syntax or framing (400, as Envoy's codec and
 * llhttp answer), a head over the size or count limit (431), a transfer coding the proxy does
 * not implement (501, Envoy's answer) or an expectation it does not meet (417). Thrown by the parsers only; each side turns it into its
 * own failure (a local reply downstream, a coded upstream error).
 */
export type Http1ParseStatus = 400 | 417 | 431 | 501;

export class Http1ParseError extends Error {
  constructor(
    readonly status: Http1ParseStatus,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'Http1ParseError';
  }
}

export function malformed(reason: string): Http1ParseError {
  return new Http1ParseError(400, reason);
}
