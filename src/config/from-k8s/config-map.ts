/**
 * `v1/ConfigMap`: only `istio-system/istio` matters (its `data.mesh` holds the mesh settings, as in
 * Istio); every other ConfigMap is application data and is skipped without a diagnostic.
 */
import { MESH_CONFIG_MAP, parseMeshSettings } from '../mesh-config.js';
import type { Translator } from './translator.js';

export const configMapTranslator: Translator = {
  kind: 'ConfigMap',
  apiVersions: ['v1'],
  namespaced: true,
  translate(r) {
    if (r.id.namespace !== MESH_CONFIG_MAP.namespace || r.id.name !== MESH_CONFIG_MAP.name) return undefined;
    const path = ['data', MESH_CONFIG_MAP.key];
    const text = r.string(path, { allowEmpty: true }) ?? '';
    const { settings, problems } = parseMeshSettings(text);
    for (const p of problems) {
      const message = p.field ? `${p.field}: ${p.message}` : p.message;
      if (p.warning) r.warn(path, 'UNSUPPORTED', message);
      else r.error(path, 'FIELD_INVALID', message);
    }
    if (r.failed) return undefined;
    return { type: 'MeshSettings', value: settings };
  },
};
