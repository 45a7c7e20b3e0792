/** `ambient validate DIR`: prints the config's diagnostics; exit 1 when any is an error. */
const { parseArgs } = process.getBuiltinModule('node:util');
import { formatValidation, validateDir } from '../config/validate-dir.js';
import { UsageError } from './usage-error.js';

export async function runValidate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'no-local-ranges': { type: 'boolean', default: false } },
  });
  const dir = positionals[0];
  if (!dir) throw new UsageError('validate needs a directory');
  const result = await validateDir(dir, { localRanges: !values['no-local-ranges'] });
  (result.exitCode === 0 ? process.stdout : process.stderr).write(formatValidation(result));
  return result.exitCode;
}
