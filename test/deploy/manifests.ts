/**
 * Reading manifests the ways a user produces them: plain files, `kubectl kustomize`, `helm
 * template`. Objects are compared and validated as parsed YAML, so formatting never matters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { runTool } from './deploy-tools.js';

export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
export const KUBE_DIR = path.join(DEPLOY_DIR, 'kubernetes');
export const CHART_DIR = path.join(DEPLOY_DIR, 'helm', 'ambient-waypoint');

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every document of a YAML stream as an object with apiVersion, kind and metadata.name. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isRecord(v) || typeof v['apiVersion'] !== 'string' || typeof v['kind'] !== 'string') {
      throw new Error(`${source}: a document without apiVersion and kind`);
    }
    const meta = v['metadata'];
    if (!isRecord(meta) || typeof meta['name'] !== 'string') throw new Error(`${source}: ${String(v['kind'])} without metadata.name`);
    out.push(v as unknown as K8sObject);
  }
  return out;
}

/** `Kind/namespace/name`: unique within one install. */
export function objectKey(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function byKey(objects: readonly K8sObject[]): Map<string, K8sObject> {
  const m = new Map<string, K8sObject>();
  for (const o of objects) {
    const k = objectKey(o);
    if (m.has(k)) throw new Error(`${k} appears twice`);
    m.set(k, o);
  }
  return m;
}

/** Every `*.yaml` of a directory except kustomization.yaml, in name order. */
export function readManifestDir(dir: string): K8sObject[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) => parseManifests(readFileSync(path.join(dir, f), 'utf8'), path.join(dir, f)));
}

/**
 * What kustomize builds from a kustomization that only lists resource files (the base and the
 * ztunnel one are kept that way on purpose): the files' objects, unchanged. Anything else in the
 * kustomization is refused, so this never silently differs from kustomize.
 */
export function plainKustomization(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const [k] = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
  if (!isRecord(k)) throw new Error(`${file}: not a mapping`);
  const extra = Object.keys(k).filter((key) => !['apiVersion', 'kind', 'resources'].includes(key));
  if (extra.length > 0) throw new Error(`${file}: ${extra.join(', ')} needs kustomize itself`);
  const resources = k['resources'];
  if (!Array.isArray(resources)) throw new Error(`${file}: no resources`);
  return resources.flatMap((r: unknown) => {
    if (typeof r !== 'string' || !/\.ya?ml$/.test(r)) throw new Error(`${file}: resource ${String(r)} is not a file`);
    const p = path.join(dir, r);
    return parseManifests(readFileSync(p, 'utf8'), p);
  });
}

export async function kustomizeBuild(kubectl: string, dir: string): Promise<K8sObject[]> {
  return parseManifests(await runTool(kubectl, ['kustomize', dir]), `kubectl kustomize ${dir}`);
}

export async function helmTemplate(helm: string, namespace: string, set: readonly string[] = []): Promise<K8sObject[]> {
  const args = ['template', 'waypoint', CHART_DIR, '--namespace', namespace, ...set.flatMap((s) => ['--set', s])];
  return parseManifests(await runTool(helm, args), `helm ${args.join(' ')}`);
}

export function only(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as K8sObject;
}
