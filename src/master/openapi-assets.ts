// The rendered API reference's files, read from the swagger-ui-dist package where it is installed
// (the Node server, from node_modules at run time): nothing is fetched from a CDN, so /doc works
// offline. Lambda's bundle and Workers have no node_modules: there the reader finds nothing and /doc
// answers a 404 saying so. Node's modules are taken with process.getBuiltinModule, not imported, so
// that this file loads on every runtime and no bundler tries to follow them.

/** The files /doc/assets/{file} serves, with their content types. */
export const DOC_ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

export type AssetReader = (file: string) => Promise<Uint8Array<ArrayBuffer> | undefined>;

/** Where swagger-ui-dist is installed, or undefined on a runtime without node_modules. */
function packageDir(): string | undefined {
  try {
    const getBuiltin = globalThis.process?.getBuiltinModule;
    if (!getBuiltin) return undefined;
    const { createRequire } = getBuiltin('node:module');
    const { dirname } = getBuiltin('node:path');
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return undefined;
  }
}

/** Reads each asset once, on first use, and keeps it: the files do not change while the process runs. */
export function swaggerUiAssets(): AssetReader {
  let dir: string | undefined | null = null;
  const read = new Map<string, ReturnType<AssetReader>>();
  return (file) => {
    if (!(file in DOC_ASSETS)) return Promise.resolve(undefined);
    if (dir === null) dir = packageDir();
    const from = dir;
    if (from === undefined) return Promise.resolve(undefined);
    let bytes = read.get(file);
    if (!bytes) {
      const { readFile } = globalThis.process.getBuiltinModule('node:fs/promises');
      const { join } = globalThis.process.getBuiltinModule('node:path');
      bytes = readFile(join(from, file)).then(
        (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        () => undefined,
      );
      read.set(file, bytes);
    }
    return bytes;
  };
}
