// The sandbox probe: what a JavaScript guest can reach from inside the
// component. Asked for with `provider-options: {"anthropic-js": {"probe": MODE}}`;
// the turn then runs the probe instead of calling the upstream. The integration
// tests use it to check that nothing leaks in.
//
// - "report": one text event, a JSON object describing what exists (the
//   `process` object and its environment, `fetch`, module loading, ...),
//   touching nothing that would trap.
// - "fetch": calls `fetch(url)` for the upstream's URL. The component is built
//   without wasi:http, so this must fail (it traps) and no request may arrive.
// - "import": loads `node:fs` with a dynamic `import()`; there is no module
//   loader at run time, so this must fail too.

/** The probe modes a request may ask for. */
export const PROBE_MODES = ["report", "fetch", "import"];

// Globals looked up by name at run time, so that the bundler cannot see (and
// polyfill) them: the point is what the engine itself provides.
const lookup = (name) => globalThis[name];

function describe(value) {
  return value === undefined ? "absent" : typeof value;
}

/** What the guest can see, as a plain object. */
function report() {
  const process = lookup("process");
  let env = "absent";
  if (process !== undefined && process !== null) {
    try {
      env = process.env === undefined ? "absent" : Object.entries(process.env);
    } catch (err) {
      env = `error: ${err}`;
    }
  }
  let readFile = "absent";
  const fs = lookup("fs") ?? lookup("Deno");
  if (fs !== undefined) {
    try {
      readFile = String(fs.readFileSync?.("/etc/passwd") ?? fs.readTextFileSync?.("/etc/passwd"));
    } catch (err) {
      readFile = `error: ${err}`;
    }
  }
  return {
    process: describe(process),
    env,
    require: describe(lookup("require")),
    deno: describe(lookup("Deno")),
    bun: describe(lookup("Bun")),
    fs: describe(lookup("fs")),
    readFile,
    fetch: describe(lookup("fetch")),
    xmlHttpRequest: describe(lookup("XMLHttpRequest")),
    webSocket: describe(lookup("WebSocket")),
    globals: Object.getOwnPropertyNames(globalThis).sort(),
  };
}

/** Run the probe `mode` (`url` is the upstream's); returns the text to emit. */
export function runProbe(mode, url) {
  try {
    return attempt(mode, url);
  } catch (err) {
    return `${mode} failed: ${err}`;
  }
}

function attempt(mode, url) {
  switch (mode) {
    case "fetch": {
      // Starting the request is what would open a socket; the promise is never awaited.
      const pending = lookup("fetch")(url);
      pending.then(
        () => {},
        () => {},
      );
      return `fetch(${url}) returned without failing`;
    }
    case "import": {
      const load = lookup("eval");
      const pending = load('import("node:fs")');
      pending.then(
        () => {},
        () => {},
      );
      return "import(node:fs) returned without failing";
    }
    default:
      return JSON.stringify(report());
  }
}
