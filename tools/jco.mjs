// Runs jco's CLI with read access to one folder. jco does its work with
// WebAssembly tools run on @bytecodealliance/preview2-shim, which from 0.26 on
// preopens no directory by default, so under node they cannot read the WIT
// files or the source ("failed to get path metadata"). This grants `<folder>`
// (as the same absolute path) to every copy of the shim jco loads, then runs jco.
//
// Usage: node jco.mjs <node_modules> <folder> <jco arguments...>
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [modulesArg, folder, ...args] = process.argv.slice(2);
const modules = resolve(modulesArg);
const granted = resolve(folder);
for (const user of ["@bytecodealliance/jco", "@bytecodealliance/jco-transpile", "@bytecodealliance/componentize-js"]) {
  const require = createRequire(join(modules, user, "package.json"));
  const shim = await import(pathToFileURL(require.resolve("@bytecodealliance/preview2-shim/filesystem")));
  shim._setPreopens({ [granted]: granted });
}
const jco = join(modules, "@bytecodealliance/jco/dist/jco.js");
process.argv = [process.argv[0], jco, ...args];
await import(pathToFileURL(jco));
