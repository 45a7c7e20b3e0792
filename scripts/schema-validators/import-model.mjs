// Imports one module of this package's dependencies (`kubernetes-models/apps/v1/Deployment`). A
// dynamic import resolves from the file that makes it, and only files in this directory see its
// node_modules: the compiled tests live under dist/, whose ancestors do not hold it.
export const importModel = (spec) => import(spec);
