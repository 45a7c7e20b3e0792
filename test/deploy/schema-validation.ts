/**
 * Validates an object against the published Kubernetes, Gateway API and Istio schemas, as
 * generated validators in the kubernetes-models packages (core from the Kubernetes OpenAPI spec,
 * the others from the CRDs' Go types). One class per apiVersion/kind; an object of a kind none of
 * the packages knows is an error, never a silent pass. Unknown fields are errors too
 * (strict-fields.ts), as with `kubectl apply --validate=strict`.
 */
import type { K8sObject } from './manifests.js';
import { assertSchemaPackageInstalled, importSchemaModule } from './schema-packages.js';
import { unknownFields } from './strict-fields.js';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** The module that holds the class for an apiVersion. */
export function modulePath(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  if (group === '') return `kubernetes-models/${apiVersion}/${kind}`;
  if (group === 'gateway.networking.k8s.io' || group === 'gateway.networking.x-k8s.io') return `@kubernetes-models/gateway-api/${apiVersion}/${kind}`;
  if (group.endsWith('.istio.io')) return `@kubernetes-models/istio/${apiVersion}/${kind}`;
  // Kubernetes' own API groups: `apps`, `policy`, `autoscaling` and `*.k8s.io`.
  if (!group.includes('.') || group.endsWith('.k8s.io')) return `kubernetes-models/${apiVersion}/${kind}`;
  return undefined;
}

const classes = new Map<string, Promise<ModelClass | undefined>>();

async function load(spec: string, kind: string): Promise<ModelClass | undefined> {
  assertSchemaPackageInstalled();
  try {
    const mod = (await importSchemaModule(spec)) as Record<string, unknown>;
    const cls = mod[kind];
    return typeof cls === 'function' ? (cls as ModelClass) : undefined;
  } catch {
    return undefined;
  }
}

/** The schema errors of one object (empty when valid). */
export async function schemaErrors(o: K8sObject): Promise<string[]> {
  const spec = modulePath(o.apiVersion, o.kind);
  if (!spec) return [`no schema package for ${o.apiVersion}`];
  let cls = classes.get(spec);
  if (!cls) {
    cls = load(spec, o.kind);
    classes.set(spec, cls);
  }
  const Model = await cls;
  if (!Model) return [`no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  // The generated validators allow unknown fields; the kind's interface does not (strict-fields.ts).
  return unknownFields(o, spec);
}
