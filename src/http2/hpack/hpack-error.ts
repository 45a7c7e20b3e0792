/**
 * The one error the HPACK codec throws. `COMPRESSION_ERROR` is RFC 9113 §4.3's connection error
 * (the decoder's state can no longer be trusted, so the connection dies); `HEADER_LIST_TOO_LARGE`
 * is the decoder's own memory bound, far above any 431 limit the caller applies.
 */
export type HpackErrorCode = 'COMPRESSION_ERROR' | 'HEADER_LIST_TOO_LARGE';

export class HpackError extends Error {
  readonly code: HpackErrorCode;

  constructor(code: HpackErrorCode, message: string) {
    super(message);
    this.name = 'HpackError';
    this.code = code;
  }
}

/** A decoding error: the block is malformed. */
export function compressionError(message: string): HpackError {
  return new HpackError('COMPRESSION_ERROR', message);
}
