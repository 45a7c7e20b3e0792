/**
 * The few fields of Deployments, DaemonSets and friends that the consistency tests read, typed.
 * The objects are schema-validated by manifests-valid.test.ts; these views only name fields.
 */
import type { K8sObject } from './manifests.js';

export interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port?: number | string };
}
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}
export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly startupProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: readonly string[] } } };
  readonly resources?: { readonly limits?: Readonly<Record<string, string>>; readonly requests?: Readonly<Record<string, string>> };
  readonly securityContext?: {
    readonly allowPrivilegeEscalation?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly privileged?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
}
export interface PodTemplate {
  readonly metadata: { readonly labels: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec: {
    readonly serviceAccountName?: string;
    readonly terminationGracePeriodSeconds?: number;
    readonly securityContext?: { readonly runAsNonRoot?: boolean; readonly runAsUser?: number };
    readonly topologySpreadConstraints?: readonly { readonly topologyKey: string; readonly labelSelector?: { readonly matchLabels?: Readonly<Record<string, string>> } }[];
    readonly containers: readonly Container[];
    readonly volumes?: readonly { readonly name: string }[];
  };
}
export interface WorkloadSpec {
  readonly replicas?: number;
  readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
  readonly strategy?: { readonly rollingUpdate?: { readonly maxUnavailable?: number | string; readonly maxSurge?: number | string } };
  readonly template: PodTemplate;
}
export interface ServiceSpec {
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly name: string; readonly port: number; readonly targetPort: number | string }[];
}
export interface GatewaySpec {
  readonly gatewayClassName: string;
  readonly addresses?: readonly { readonly type?: string; readonly value: string }[];
  readonly listeners: readonly { readonly name: string; readonly port: number; readonly protocol: string }[];
}
export interface RoleRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export function specOf<T>(o: K8sObject): T {
  return o['spec'] as T;
}

/**
 * A container's environment as the kubelet gives it: literal values, and fieldRefs filled from
 * `fields` (`status.podIP`...); a variable with neither is an error.
 */
export function kubeletEnv(c: Container, fields: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const v = e.value ?? (field !== undefined ? fields[field] : undefined);
    if (v === undefined) throw new Error(`no value for env ${e.name}`);
    env[e.name] = v;
  }
  return env;
}

/** `$(VAR)` references in an arg expanded the way the kubelet does (unknown ones left as they are). */
export function expandArgs(args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, name: string) => env[name] ?? m));
}

/** `512Mi`, `1Gi`, `256M` → MiB. */
export function mebibytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported quantity ${quantity}`);
  const n = Number(m[1]);
  const factor: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, K: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576 };
  return m[2] ? n * (factor[m[2]] ?? NaN) : n / 1048576;
}

export function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
