/**
 * The ztunnel's open connections, for the admin `/config_dump` `workloadState` (what
 * `istioctl ztunnel-config connections` reads). Kept by wrapping the connection record sink:
 * a connection is added when bytes start to flow (`opened`) and removed when its final record
 * arrives, so the table costs two map operations per connection and nothing per byte.
 */
import type { ConnectionRecord, ConnectionRecordSink } from './connection-record.js';

export class LiveConnections {
  private readonly open = new Map<number, ConnectionRecord>();

  /** A sink that tracks connections, then hands every record to `inner` (if any). */
  wrap(inner: ConnectionRecordSink | undefined): ConnectionRecordSink {
    const innerOpened = inner?.opened;
    return Object.assign(
      (r: ConnectionRecord): void => {
        this.open.delete(r.id);
        inner?.(r);
      },
      {
        opened: (r: ConnectionRecord): void => {
          this.open.set(r.id, r);
          innerOpened?.(r);
        },
      },
    );
  }

  /** The open connections, oldest first. */
  list(): readonly ConnectionRecord[] {
    return [...this.open.values()];
  }

  get size(): number {
    return this.open.size;
  }
}
