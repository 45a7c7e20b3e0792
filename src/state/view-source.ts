import type { MeshView } from './mesh-view.js';

/**
 * The current mesh view and its changes. Components hold one of these, read `current()` once per
 * connection or request (that view is then kept for the rest of it), and subscribe to react to
 * changes (e.g. a ztunnel opening listeners for new local pods).
 */
export interface ViewSource {
  current(): MeshView;
  /** Called after each accepted change with the new view. Returns an unsubscribe function. */
  onChange(listener: (view: MeshView) => void): () => void;
}

/** A fixed view, for tests and one-shot commands. */
export function staticViewSource(view: MeshView): ViewSource {
  return { current: () => view, onChange: () => () => undefined };
}
