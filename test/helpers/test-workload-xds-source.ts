/**
 * Our workload xDS client as the tests run it: a ztunnel's node identity, a fast back-off, and
 * plaintext unless the test passes other credentials (the local istiod's TLS, a bearer token).
 */
import * as grpc from '@grpc/grpc-js';
import { Backoff } from '../../src/sources/xds-backoff.js';
import type { WorkloadXdsSourceOptions } from '../../src/sources/workload-xds-source.js';
import { WorkloadXdsSource } from '../../src/sources/workload-xds-source.js';

export const TEST_ZTUNNEL_NODE_ID = 'ztunnel~127.0.0.1~ztunnel.istio-system~istio-system.svc.cluster.local';

export function testWorkloadXdsSource(address: string, opts: Partial<WorkloadXdsSourceOptions> = {}): WorkloadXdsSource {
  return new WorkloadXdsSource({
    address,
    credentials: grpc.credentials.createInsecure(),
    node: { id: TEST_ZTUNNEL_NODE_ID, cluster: 'ztunnel' },
    backoff: new Backoff(50, 200),
    ...opts,
  });
}
