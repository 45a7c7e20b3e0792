/** `v1/Namespace` → NamespaceIR (its labels drive ambient enrollment and waypoint use). */
import type { NamespaceIR } from '../ir.js';
import { meshAnnotations } from './mesh-annotations.js';
import type { Translator } from './translator.js';

export const namespaceTranslator: Translator = {
  kind: 'Namespace',
  apiVersions: ['v1'],
  namespaced: false,
  translate(r) {
    const labels = r.stringMap(['metadata', 'labels']);
    const annotations = meshAnnotations(r.stringMap(['metadata', 'annotations']));
    if (r.failed) return undefined;
    const value: NamespaceIR = { name: r.id.name, labels, ...(annotations ? { annotations } : {}) };
    return { type: 'Namespace', value };
  },
};
