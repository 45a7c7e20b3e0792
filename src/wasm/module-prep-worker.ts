/**
 * The worker thread that makes a module ready off the proxy's event loop: instruments its loops
 * (`loop-fuel.ts`) and compiles it, then posts the compiled `WebAssembly.Module` back (modules
 * are shared between threads of one process, not copied). Started by {@link prepareModule} for
 * one module and terminated after its answer, so a module that takes too long or too much memory
 * is stopped by ending the thread.
 *
 * Compiling the instrumented bytes comes first; when that fails the original is compiled so a
 * broken module is reported as itself, and a module that compiles only uninstrumented runs
 * without containment (with a warning), as a module the instrumenter cannot read does.
 */
const os = process.getBuiltinModule('node:os');
const { parentPort } = process.getBuiltinModule('node:worker_threads');
import { instrumentLoops } from './loop-fuel.js';
import type { PrepRequest, PrepResponse } from './module-prep-protocol.js';

// The lowest CPU priority for this thread only (Linux keeps nice values per thread; pid 0 is the
// calling thread): on a busy node the proxy's event loop gets the CPU first and the module
// becomes ready a little later, never the other way round. Where that is not allowed the thread
// just keeps the process's priority.
try {
  os.setPriority(0, 19);
} catch {
  // not permitted here: run at the process's priority
}

const port = parentPort;
if (port) {
  port.once('message', (req: PrepRequest) => {
    port.postMessage(prepare(req));
  });
}

function prepare(req: PrepRequest): PrepResponse {
  let problem: string | undefined;
  if (req.loopFuel) {
    const r = instrumentLoops(req.bytes);
    if (r.ok) {
      try {
        return { ok: true, module: new WebAssembly.Module(r.bytes), loops: r.loops, instrumented: true };
      } catch (err) {
        problem = `the instrumented module does not compile (${message(err)})`;
      }
    } else problem = r.error;
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(req.bytes);
  } catch (err) {
    return { ok: false, error: `not a valid WebAssembly module: ${message(err)}` };
  }
  return { ok: true, module, loops: 0, instrumented: false, ...(problem !== undefined ? { warning: `${problem}; running without loop containment` } : {}) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
