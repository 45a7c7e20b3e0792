/**
 * Counts gRPC messages in a body as its bytes pass, for `istio_request_messages_total` and
 * `istio_response_messages_total` (Envoy's `grpc_stats` filter does the same). A gRPC body is a
 * sequence of length-prefixed messages: 1 flag byte, a 4-byte big-endian length, then that many
 * bytes. The counter keeps only where it is in the current frame, never the bytes: chunks are
 * looked at, not buffered or copied, and a frame header may straddle chunks.
 */

/** Bytes of a message prefix: compressed flag + uint32 length. */
const PREFIX = 5;

export class GrpcFrameCounter {
  /** Whole or started messages seen (a message counts when its prefix is complete). */
  messages = 0;
  /** Prefix bytes still to read (0 while inside a payload). */
  private prefixLeft = PREFIX;
  /** The length being assembled from the prefix. */
  private length = 0;
  /** Payload bytes of the current message still to skip. */
  private payloadLeft = 0;

  /** Feeds the next chunk of the body. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const skip = Math.min(this.payloadLeft, n - i);
        this.payloadLeft -= skip;
        i += skip;
        continue;
      }
      // Inside a prefix: byte 0 is the flag, bytes 1..4 the length.
      const b = chunk[i] as number;
      if (this.prefixLeft < PREFIX) this.length = this.length * 256 + b;
      this.prefixLeft--;
      i++;
      if (this.prefixLeft === 0) {
        this.messages++;
        this.payloadLeft = this.length;
        this.prefixLeft = PREFIX;
        this.length = 0;
      }
    }
  }
}
