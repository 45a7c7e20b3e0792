/** `v1/Namespace` → NamespaceIR (its labels drive ambient enrollment and waypoint use). */
import type { NamespaceIR } from '../ir.js';
import type { Translator } from './translator.js';

export const namespaceTranslator: Translator = {
  kind: 'Namespace',
  apiVersions: ['v1'],
  namespaced: false,
  translate(r) {
    const labels = r.stringMap(['metadata', 'labels']);
    if (r.failed) return undefined;
    const value: NamespaceIR = { name: r.id.name, labels };
    return { type: 'Namespace', value };
  },
};
