/**
 * The local mesh's address plan (design §4) and the one check every translator uses for
 * addresses: valid IP text, and (when the context asks for it) inside the range of its role.
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { CidrIR } from '../ir.js';
import { cidrContains, parseCidr } from '../../net/cidr.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import type { TranslateContext } from './translator.js';

export type AddressRole = 'pod' | 'vip' | 'waypoint';

function range(text: string): CidrIR {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad built-in CIDR ${text}`);
  return c;
}

export const LOCAL_RANGES: Readonly<Record<AddressRole, CidrIR>> = Object.freeze({
  pod: range('127.1.0.0/16'),
  vip: range('127.100.0.0/16'),
  waypoint: range('127.2.0.0/16'),
});

const ROLE_NAME: Readonly<Record<AddressRole, string>> = {
  pod: 'pod IPs',
  vip: 'Service VIPs',
  waypoint: 'waypoint addresses',
};

/**
 * Reads an IP address at `path`; records FIELD_REQUIRED / FIELD_INVALID / ADDRESS_OUT_OF_RANGE and
 * returns `undefined` on any problem.
 */
export function readAddress(
  r: ObjectReader,
  path: FieldPath,
  role: AddressRole,
  ctx: TranslateContext,
  required = true,
): string | undefined {
  const text = r.string(path, { required });
  if (text === undefined) return undefined;
  if (isIP(text) === 0) {
    r.error(path, 'FIELD_INVALID', `${JSON.stringify(text)} is not an IP address`);
    return undefined;
  }
  return checkRange(r, path, text, role, ctx) ? text : undefined;
}

/** Range check alone, for addresses already known to be valid IPs. */
export function checkRange(r: ObjectReader, path: FieldPath, ip: string, role: AddressRole, ctx: TranslateContext): boolean {
  if (!ctx.localRanges) return true;
  const cidr = LOCAL_RANGES[role];
  if (cidrContains(cidr, ip)) return true;
  r.error(path, 'ADDRESS_OUT_OF_RANGE', `${ip} is outside ${cidr.text}, the local range for ${ROLE_NAME[role]}`);
  return false;
}
