/** Loads a config directory once (no watching) for commands that only need to look things up. */
import { SnapshotStore } from '../state/snapshot-store.js';
import type { MeshView } from '../state/mesh-view.js';

export async function loadView(dir: string): Promise<MeshView> {
  const store = await SnapshotStore.open({ dir, watch: false, localRanges: true });
  try {
    return store.current();
  } finally {
    await store.close();
  }
}
