/** The messages between {@link prepareModule} and its worker (`module-prep-worker.ts`). */
export interface PrepRequest {
  readonly bytes: Uint8Array;
  /** Instrument loops (`loop-fuel.ts`) before compiling. */
  readonly loopFuel: boolean;
}

export type PrepResponse =
  | {
      readonly ok: true;
      readonly module: WebAssembly.Module;
      /** Loops instrumented (0 when not instrumented). */
      readonly loops: number;
      readonly instrumented: boolean;
      /** Why the module runs without loop containment although it was asked for. */
      readonly warning?: string;
    }
  | { readonly ok: false; readonly error: string };
