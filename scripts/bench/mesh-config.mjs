// The bench's mesh: ordinary Kubernetes YAML in a temp directory, in its own address block
// (127.{1,2,3,100}.<third>.x) so a running `npm start` or test run is not disturbed.
//   node-a: client (the load's source identity)
//   node-b: backend (nginx, small requests), echo (HTTP/2 + gRPC), sink (bulk bodies)
//   waypoint       fronts backend, echo, sink (default config)
//   waypoint-full  fronts backend-full (50 HTTPRoute rules, AuthorizationPolicy, JWT, Wasm if present)
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ISSUER = 'https://issuer.bench.test';

export function benchAddresses(third) {
  return {
    client: `127.1.${third}.2`,
    backend: `127.1.${third}.11`,
    echo: `127.1.${third}.12`,
    sink: `127.1.${third}.14`,
    waypoint: `127.2.${third}.1`,
    waypointFull: `127.2.${third}.2`,
    nodeA: `127.3.${third}.1`,
    nodeB: `127.3.${third}.2`,
    vip: (n) => `127.100.${third}.${n}`,
  };
}

const pod = (name, node, sa, ip, image, port) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: ${name}}}
spec:
  nodeName: ${node}
  serviceAccountName: ${sa}
  containers: [{name: ${name}, image: ${image}${port ? `, ports: [{name: http, containerPort: ${port}}]` : ''}}]
status: {podIP: ${ip}}
---
`;

const HTTP_PORT = '{name: http, port: 9080, targetPort: 9080}';
// The echo's port is named `grpc` (Istio's port-name convention), so the waypoint speaks HTTP/2
// upstream to it (h2c inside the tunnel): the h2 and gRPC rows measure an HTTP/2 hop both sides.
const GRPC_PORT = '{name: grpc, port: 9080, targetPort: 9080}';

const service = (name, app, vip, waypoint, port = HTTP_PORT) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
  labels: {app: ${app}${waypoint ? `, istio.io/use-waypoint: ${waypoint}` : ''}}
spec:
  clusterIP: ${vip}
  selector: {app: ${app}}
  ports: [${port}]
---
`;

const gateway = (name, address) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: ${address}}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
`;

/** The feature set of the "waypoint with features" row. */
function featuresYaml(jwk) {
  const rules = [];
  // 49 rules that do not match `/`, then the one that does: the worst case of a first-match scan.
  for (let i = 0; i < 49; i++) rules.push(`    - matches: [{path: {type: PathPrefix, value: /r${i}}}, {headers: [{name: x-route, value: r${i}}]}]\n      backendRefs: [{name: backend-full, port: 9080}]`);
  rules.push('    - matches: [{path: {type: PathPrefix, value: /}}]\n      backendRefs: [{name: backend-full, port: 9080}]');
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-full, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: backend-full, port: 9080}]
  rules:
${rules.join('\n')}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: backend-full}]
  jwtRules:
    - issuer: ${ISSUER}
      jwks: '${JSON.stringify({ keys: [jwk] })}'
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-client, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: backend-full}]
  action: ALLOW
  rules:
    - from: [{source: {principals: [cluster.local/ns/default/sa/client], requestPrincipals: ["${ISSUER}/bench"]}}]
      to: [{operation: {methods: [GET, POST, PUT]}}]
---
`;
}

/**
 * The header-editing Wasm sample (wasm/plugins/header-edit.ts) on the features backend:
 * `{ yaml, file }`, or `{ skipped: reason }` when it is not built.
 */
export function wasmPlugin(root) {
  const file = path.join(root, 'dist/wasm/plugins/header-edit.wasm');
  if (!existsSync(file)) return { skipped: 'dist/wasm/plugins/header-edit.wasm is not built (npm run build)' };
  return {
    file,
    yaml: `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: bench-headers, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: backend-full}]
  url: file://${file}
  phase: STATS
  pluginConfig: {requestHeader: x-bench, responseHeader: x-bench, value: "1"}
---
`,
  };
}

export function writeBenchConfig(dir, third, jwk, wasm) {
  const a = benchAddresses(third);
  let yaml = `apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
---
`;
  for (const sa of ['client', 'backend', 'echo', 'sink', 'waypoint', 'waypoint-full']) yaml += `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${sa}, namespace: default}\n---\n`;
  yaml += gateway('waypoint', a.waypoint) + gateway('waypoint-full', a.waypointFull);
  yaml += pod('client', 'node-a', 'client', a.client, 'curlimages/curl', 0);
  yaml += pod('backend', 'node-b', 'backend', a.backend, 'nginx', 9080);
  yaml += pod('echo', 'node-b', 'echo', a.echo, 'echo', 9080);
  yaml += pod('sink', 'node-b', 'sink', a.sink, 'bench-sink', 9080);
  yaml += service('backend-l4', 'backend', a.vip(10), undefined);
  yaml += service('backend', 'backend', a.vip(11), 'waypoint');
  yaml += service('backend-full', 'backend', a.vip(12), 'waypoint-full');
  yaml += service('echo', 'echo', a.vip(13), 'waypoint', GRPC_PORT);
  yaml += service('sink', 'sink', a.vip(14), 'waypoint');
  yaml += service('sink-l4', 'sink', a.vip(15), undefined);
  writeFileSync(path.join(dir, 'bench.yaml'), yaml);
  writeFileSync(path.join(dir, 'features.yaml'), featuresYaml(jwk) + (wasm.yaml ?? ''));
  return a;
}
