# Shortcuts for people who have `just`; every recipe is a plain cargo command,
# so nothing here is required (the README's commands need cargo alone).

# Stream the built-in demo conversation through the OpenAI-compatible provider.
demo:
    cargo xtask demo

# Build every guest and run every test (what CI runs).
test:
    cargo xtask test

# Build the guest components into dist/components.
build:
    cargo xtask build

# Run the benchmarks.
bench:
    cargo xtask bench
