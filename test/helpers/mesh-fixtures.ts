/**
 * Extra YAML for `startLocalMesh({ extraFiles })`, written with the default mesh's addresses
 * (relocated into each test file's block). Shared so tests that need the same situation use the
 * same objects.
 */

/** A Service behind the waypoint whose selector matches no pod: the waypoint answers 503 UH. */
export const EMPTY_SERVICE_YAML = `apiVersion: v1
kind: Service
metadata:
  name: empty
  namespace: default
  labels:
    istio.io/use-waypoint: waypoint
spec:
  clusterIP: 127.100.0.30
  selector:
    app: nobody
  ports:
    - name: http
      port: 9080
      targetPort: 9080
`;

/** One Service per reviews version (canary targets for weighted backends). */
export const REVIEWS_VERSION_SERVICES_YAML = `apiVersion: v1
kind: Service
metadata: {name: reviews-v1, namespace: default}
spec:
  clusterIP: 127.100.0.31
  selector: {app: reviews, version: v1}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: default}
spec:
  clusterIP: 127.100.0.32
  selector: {app: reviews, version: v2}
  ports: [{name: http, port: 9080, targetPort: 9080}]
`;

/** A second TCP echo Service (`tcp-alt:9100` → pod port 9000) as a TCP route target. */
export const TCP_ALT_SERVICE_YAML = `apiVersion: v1
kind: Service
metadata: {name: tcp-alt, namespace: default}
spec:
  clusterIP: 127.100.0.34
  selector: {app: tcp-alt}
  ports: [{name: tcp-alt, port: 9100, targetPort: 9000}]
---
apiVersion: v1
kind: Pod
metadata: {name: tcp-alt, namespace: default, labels: {app: tcp-alt}}
spec:
  nodeName: node-a
  containers: [{name: tcp-alt, image: echo, ports: [{name: tcp-echo, containerPort: 9000}]}]
status: {podIP: 127.1.0.42}
`;

/** The default waypoint Gateway with a second address: one per replica. */
export const TWO_REPLICA_WAYPOINT_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: default
  labels:
    istio.io/waypoint-for: service
spec:
  gatewayClassName: istio-waypoint
  addresses:
    - type: IPAddress
      value: 127.2.0.1
    - type: IPAddress
      value: 127.2.0.2
  listeners:
    - name: mesh
      port: 15008
      protocol: HBONE
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: waypoint
  namespace: default
`;

/** `spec.targetRefs` to the waypoint Gateway `name`, indented for a Telemetry/policy spec. */
export const waypointTargetRefs = (name = 'waypoint'): string => `  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: ${name}
`;

/** A `telemetry.istio.io/v1 Telemetry` document; `spec` is the indented body of `spec:`. */
export function telemetryYaml(name: string, namespace: string, spec: string): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec}
`;
}

/**
 * A Service in `default` over the reviews pods, bound to the waypoint, port 9080; the port's
 * name sets its protocol (`http`, `http2`, `grpc`...).
 */
export function reviewsServiceYaml(name: string, clusterIP: string, portName = 'http'): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
  labels: {istio.io/use-waypoint: waypoint}
spec:
  clusterIP: ${clusterIP}
  selector: {app: reviews}
  ports: [{name: ${portName}, port: 9080, targetPort: 9080}]
`;
}
