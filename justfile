# Shortcuts for people who have `just`; every recipe is a plain cargo command,
# so nothing here is required (the README's commands need cargo alone).

# Build the host and the demo's two components, then stream the built-in demo conversation.
demo:
    cargo xtask demo

# Build every guest and run every test (what CI runs).
test:
    cargo xtask test

# Build the guest components (all, or the named ones) into dist/components.
build *NAMES:
    cargo xtask build {{NAMES}}

# Run the benchmarks.
bench:
    cargo xtask bench
