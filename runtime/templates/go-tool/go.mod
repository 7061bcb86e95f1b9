// {{name}}, a Cordon tool in Go. The module must be `wit_component`: the
// bindings that `cargo xtask` generates into the build copy import their
// packages by it.
module wit_component

go 1.27.1

// The bindings' support package. It is not downloaded: `cargo xtask` copies it
// from the wit-bindgen-go 0.63.0 crate's source and adds the `replace` line
// pointing at that copy to the build's own go.mod (with GOPROXY=off).
require go.bytecodealliance.org/pkg v0.4.0
