/**
 * The HTTP-in-tunnel fuzz target: mutated HTTP/1.1 requests sent from a pod through ztunnel and
 * HBONE to the waypoint. Properties: whatever comes back starts with a well-formed status line,
 * nothing crashes, and the waypoint still serves a well-formed request afterwards.
 */
import type { LocalMesh } from '../helpers/local-mesh.js';
import type { Finding } from './fuzz-targets.js';
import { Mutator } from './mutator.js';

const SEEDS = [
  'GET / HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'POST /echo-body HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n\r\nhello',
  'POST / HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET /a?b=c HTTP/1.1\r\nHost: reviews:9080\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: reviews\r\n\r\n',
];

const STATUS_LINE = /^HTTP\/1\.1 [1-5]\d\d /;

export async function fuzzHttpTunnel(mesh: LocalMesh, seed: number, iterations: number, concurrency = 4, perCaseMs = 3000): Promise<{ executions: number; findings: Finding[] }> {
  const m = new Mutator(seed);
  const findings: Finding[] = [];
  const sleep = mesh.pod('default', 'sleep');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < iterations) {
      const i = next++;
      const input = m.mutate(Buffer.from(m.pick(SEEDS), 'latin1'));
      let text = '';
      try {
        const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
        socket.on('error', () => undefined);
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        const done = new Promise<void>((resolve) => {
          socket.once('end', resolve);
          socket.once('close', resolve);
        });
        socket.end(input);
        await Promise.race([done, new Promise((r) => setTimeout(r, perCaseMs).unref())]);
        socket.destroy();
      } catch (err) {
        findings.push({ target: 'http-tunnel', seed, iteration: i, input: input.toString('latin1'), problem: `tunnel failed: ${String(err)}` });
        continue;
      }
      if (text.length > 0 && !STATUS_LINE.test(text)) {
        findings.push({ target: 'http-tunnel', seed, iteration: i, input: input.toString('latin1'), problem: `bad response start ${JSON.stringify(text.slice(0, 40))}` });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const after = await mesh.request(sleep, 'http://reviews:9080/after-fuzz');
  if (after.status !== 200) findings.push({ target: 'http-tunnel', seed, iteration: iterations, input: 'GET /after-fuzz', problem: `waypoint answers ${after.status} after fuzzing` });
  return { executions: iterations, findings };
}
