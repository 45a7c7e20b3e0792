/**
 * What the access record needs to know about one gRPC request: its messages each way (counted as
 * bytes pass) and its `grpc-status`, wherever it came from (response headers of a trailers-only
 * response or of the waypoint's own gRPC local reply, else the trailers). Created only for
 * requests whose content-type says gRPC, so plain HTTP pays nothing.
 */
import { GrpcFrameCounter } from './grpc-frame-counter.js';

/** Highest gRPC status code (UNAUTHENTICATED); others are not recorded, keeping labels bounded. */
const MAX_GRPC_STATUS = 16;

export class GrpcStats {
  readonly request = new GrpcFrameCounter();
  readonly response = new GrpcFrameCounter();
  status: number | undefined;

  /** Takes `grpc-status` from a header or trailer block; the first valid value wins. */
  observeStatus(value: string | undefined): void {
    if (this.status !== undefined || value === undefined) return;
    const n = Number(value);
    if (Number.isInteger(n) && n >= 0 && n <= MAX_GRPC_STATUS && value.trim() !== '') this.status = n;
  }
}
