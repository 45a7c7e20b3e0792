/**
 * `v1/ServiceAccount`. Identities are derived from a pod's `serviceAccountName` whether or not the
 * ServiceAccount object is in the directory (the local mesh does not require one), so this only
 * records that it exists; it is accepted so applying real manifests gives no UNKNOWN_KIND noise.
 */
import type { Translator } from './translator.js';

export const serviceAccountTranslator: Translator = {
  kind: 'ServiceAccount',
  apiVersions: ['v1'],
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    return { type: 'ServiceAccount', value: { name: r.id.name, namespace } };
  },
};
