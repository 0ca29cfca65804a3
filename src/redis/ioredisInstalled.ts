/**
 * Whether `ioredis` (an optional peer dependency) can be loaded, asked without loading it.
 * A Redis URL without ioredis must be refused by the constructor, not by the first publish.
 *
 * The question is asked from this file's own location, the place the later `import()` resolves
 * from; the same source runs as ESM and CommonJS, so that location comes from the call stack
 * (no `import.meta` in CommonJS, no `__filename` in ESM). The app's working directory is asked
 * too. Only when every place answers "not found" is the answer no: a wrong "no" would refuse a
 * working setup, a wrong "yes" only moves the error to the first call.
 */
export function ioredisInstalled(): boolean {
  // Asked for lazily, not imported: runtimes without node:module (edge) load this file too,
  // and there the answer is "cannot tell", so the first call reports instead.
  const createRequire = (globalThis.process?.getBuiltinModule?.('node:module') as typeof import('node:module') | undefined)?.createRequire;
  if (createRequire === undefined) return true;
  const bases = [ownFile(), `${process.cwd()}/package.json`];
  for (const base of bases) {
    if (base === undefined) continue;
    try {
      createRequire(base).resolve('ioredis');
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') return true;
    }
  }
  return bases[0] === undefined;
}

function ownFile(): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[] | undefined;
    const file = Array.isArray(sites) ? sites[0]?.getFileName() : undefined;
    return typeof file === 'string' && file !== '' ? file : undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}
