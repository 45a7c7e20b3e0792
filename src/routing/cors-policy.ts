/**
 * VirtualService `corsPolicy` (IR) → the {@link CorsPolicy} the CORS filter applies: origin
 * matchers compiled (regexes with re2js) and header values joined once per snapshot.
 */
import type { CorsPolicyIR } from '../config/ir-routes.js';
import type { CorsPolicy } from '../../filters/cors/cors-filter.js';
import type { CompiledValue } from './route-match.js';
import { compileValue, valueMatches } from './route-match.js';

class CompiledCorsPolicy implements CorsPolicy {
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean;
  private readonly origins: readonly CompiledValue[];
  /** Envoy allows every origin when a matcher matches the literal `*` (e.g. exact `*`). */
  private readonly anyOrigin: boolean;

  constructor(ir: CorsPolicyIR) {
    this.origins = ir.allowOrigins.map(compileValue);
    this.anyOrigin = this.origins.some((m) => valueMatches(m, '*'));
    this.allowMethods = ir.allowMethods.join(',');
    this.allowHeaders = ir.allowHeaders.join(',');
    this.exposeHeaders = ir.exposeHeaders.join(',');
    this.maxAge = ir.maxAgeSeconds !== undefined ? String(ir.maxAgeSeconds) : '';
    this.allowCredentials = ir.allowCredentials;
  }

  originAllowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    for (const m of this.origins) if (valueMatches(m, origin)) return true;
    return false;
  }
}

export function compileCorsPolicy(ir: CorsPolicyIR): CorsPolicy {
  return new CompiledCorsPolicy(ir);
}
