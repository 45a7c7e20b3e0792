/**
 * A client's SETTINGS frame checked and applied (RFC 9113 §6.5.2): values out of range are
 * connection errors; SETTINGS_INITIAL_WINDOW_SIZE changes every open stream's send window by the
 * difference (§6.9.2), and a window pushed past 2^31-1 that way is a FLOW_CONTROL_ERROR. Unknown
 * identifiers are ignored.
 */
import { DEFAULT_MAX_FRAME_SIZE, ErrorCode, MAX_ALLOWED_FRAME_SIZE, MAX_WINDOW, SettingId } from './frame-types.js';

/** What applying a SETTINGS frame changes. */
export interface SettingsTarget {
  setPeerHeaderTableSize(n: number): void;
  setPeerMaxFrameSize(n: number): void;
  /** The new initial window; false when a stream's window would overflow. */
  setPeerInitialWindow(n: number): boolean;
}

/** Applies the entries of `payload`; an error code when one is invalid, else undefined. */
export function applySettings(payload: Buffer, target: SettingsTarget): ErrorCode | undefined {
  for (let i = 0; i + 6 <= payload.length; i += 6) {
    const id = payload.readUInt16BE(i);
    const value = payload.readUInt32BE(i + 2);
    switch (id) {
      case SettingId.HEADER_TABLE_SIZE:
        target.setPeerHeaderTableSize(value);
        break;
      case SettingId.ENABLE_PUSH:
        if (value > 1) return ErrorCode.PROTOCOL_ERROR;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) return ErrorCode.FLOW_CONTROL_ERROR;
        if (!target.setPeerInitialWindow(value)) return ErrorCode.FLOW_CONTROL_ERROR;
        break;
      case SettingId.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) return ErrorCode.PROTOCOL_ERROR;
        target.setPeerMaxFrameSize(value);
        break;
      case SettingId.ENABLE_CONNECT_PROTOCOL:
        if (value > 1) return ErrorCode.PROTOCOL_ERROR;
        break;
      default:
        // MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE bind a server that never pushes and
        // answers small heads nothing; unknown settings are ignored (§6.5.2).
        break;
    }
  }
  return undefined;
}
