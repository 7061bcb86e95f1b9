// Bundling options for `jco componentize --bundle` (`cargo xtask` passes this
// file on): the `cordon:` imports are the component's WIT imports, provided by
// the host, not modules to bundle.
export default { external: [/^cordon:/] };
