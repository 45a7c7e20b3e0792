/**
 * `gateway.networking.k8s.io/v1beta1 ReferenceGrant` → {@link ReferenceGrantIR}. It lives in the
 * namespace of the referenced objects (`to`) and names the route kinds and namespaces (`from`)
 * allowed to reference them. The snapshot builder applies grants to cross-namespace backendRefs.
 */
import type { ReferenceGrantIR } from '../ir-routes.js';
import type { ObjectReader } from './object-reader.js';
import type { Translator } from './translator.js';

export const referenceGrantTranslator: Translator = {
  kind: 'ReferenceGrant',
  apiVersions: ['gateway.networking.k8s.io/v1beta1', 'gateway.networking.k8s.io/v1alpha2', 'gateway.networking.k8s.io/v1'],
  namespaced: true,
  translate: (r: ObjectReader) => {
    const namespace = r.id.namespace ?? 'default';
    const from: ReferenceGrantIR['from'][number][] = [];
    const to: ReferenceGrantIR['to'][number][] = [];
    r.list(['spec', 'from'], true).forEach((_, i) => {
      const base = ['spec', 'from', i];
      const group = r.string([...base, 'group'], { required: true, allowEmpty: true });
      const kind = r.string([...base, 'kind'], { required: true });
      const ns = r.string([...base, 'namespace'], { required: true });
      if (group !== undefined && kind !== undefined && ns !== undefined) from.push({ group, kind, namespace: ns });
    });
    r.list(['spec', 'to'], true).forEach((_, i) => {
      const base = ['spec', 'to', i];
      const group = r.string([...base, 'group'], { required: true, allowEmpty: true });
      const kind = r.string([...base, 'kind'], { required: true });
      const name = r.string([...base, 'name']);
      if (group !== undefined && kind !== undefined) to.push({ group, kind, ...(name !== undefined ? { name } : {}) });
    });
    if (r.failed) return undefined;
    const value: ReferenceGrantIR = { namespace, name: r.id.name, from, to };
    return { type: 'ReferenceGrant', value };
  },
};
