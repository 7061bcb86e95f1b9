// Bundling options for `jco componentize --bundle`: the `cordon:` imports are
// the component's WIT imports, provided by the host, not modules to bundle.
export default { external: [/^cordon:/] };
