/**
 * Route tables from YAML, without sockets: translate + build a snapshot from the given objects on
 * top of a small fixed mesh (a waypoint, `reviews` with v1/v2 pods, `reviews-v1`/`reviews-v2`
 * Services), compile the table of a service port, and route synthetic requests through it.
 */
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import type { MirrorDeps } from '../../src/routing/request-mirror.js';
import { CompiledRouteTables } from '../../src/routing/route-tables.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { MeshView } from '../../src/state/mesh-view.js';
import type { RouteDecision, RouteTable } from '../../src/waypoint/router.js';
import { REVIEWS_VERSION_SERVICES_YAML } from './mesh-fixtures.js';

export const BASE_MESH = `
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: 127.2.0.1}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.10
  selector: {app: reviews}
  ports: [{name: http, port: 9080}, {name: http-admin, port: 9090}]
---
${REVIEWS_VERSION_SERVICES_YAML}---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, namespace: default, labels: {app: reviews, version: v1}}
spec: {nodeName: node-a, containers: [{name: c, image: echo, ports: [{containerPort: 9080}]}]}
status: {podIP: 127.1.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2, namespace: default, labels: {app: reviews, version: v2}}
spec: {nodeName: node-a, containers: [{name: c, image: echo, ports: [{containerPort: 9080}]}]}
status: {podIP: 127.1.0.12}
`;

export interface Routed {
  readonly view: MeshView;
  readonly diagnostics: readonly Diagnostic[];
  readonly table: (service?: string, port?: number) => RouteTable;
}

export function routesFrom(yaml: string, file = 'routes.yaml', mirror?: MirrorDeps): Routed {
  const objects: TranslatedObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [name, text] of [['mesh.yaml', BASE_MESH], [file, yaml]] as const) {
    const t = translateFile(name, text, { localRanges: true });
    diagnostics.push(...t.diagnostics);
    for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  }
  const b = buildSnapshot(objects, 1);
  diagnostics.push(...b.diagnostics);
  const view = new MeshView(b.snapshot);
  const tables = new CompiledRouteTables(mirror);
  return {
    view,
    diagnostics,
    table: (service = 'reviews', port = 9080) => {
      const target = view.serviceTarget(`${service}.default.svc.cluster.local`, port, false);
      if (!target) throw new Error(`no service port ${service}:${port}`);
      return tables.tableFor(view, target);
    },
  };
}

export interface TestRequest {
  readonly path: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly authority?: string;
  readonly port?: number;
}

export function requestContext(r: TestRequest): HttpRequestContext {
  const port = r.port ?? 9080;
  return new HttpRequestContext({
    method: r.method ?? 'GET',
    authority: r.authority ?? `reviews:${port}`,
    path: r.path,
    protocol: 'HTTP/1.1',
    headers: HeaderMap.fromNode(r.headers ?? {}),
    requestId: 'test',
    source: { address: '127.1.0.2', port: 40000 },
    destination: {
      hostname: 'reviews.default.svc.cluster.local',
      name: 'reviews',
      namespace: 'default',
      port,
      appProtocol: 'http',
      connectAuthority: `127.100.0.10:${port}`,
    },
  });
}

export function route(table: RouteTable, r: TestRequest | string): RouteDecision | undefined {
  return table.routeHttp(requestContext(typeof r === 'string' ? { path: r } : r));
}

/** The single backend Service name of a decision (or `status:<n>` for a responder, `none` for no route). */
export function targetOf(table: RouteTable, r: TestRequest | string): string {
  const d = route(table, r);
  if (!d) return 'none';
  if (d.respond) return `status:${d.respond.reply(requestContext(typeof r === 'string' ? { path: r } : r)).status}`;
  return d.backends.map((b) => (b.reply ? `status:${b.reply.status}` : b.service.name)).join('+');
}
