//! Memory pages for the whole host process: a setting the `cordon` binary
//! makes as it starts, and a program embedding the library may make too (the
//! library leaves the process's settings to the program).

/// Turn transparent huge pages off for this process (on Linux; elsewhere
/// there is nothing to do).
///
/// Where the kernel backs every large enough anonymous mapping with 2 MiB
/// pages (`/sys/kernel/mm/transparent_hugepage/enabled` at `always`, as on
/// many distributions), the allocator's arenas get them, and what a turn
/// touches there stays resident a huge page at a time. Held open 3,000 at
/// once, a live streaming turn took 141.5 KiB with them and 125.8 KiB without
/// (`benches/live_turns.rs`). The gateway's throughput with them off is in
/// the README.
pub fn disable_transparent_huge_pages() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    rustix::thread::disable_transparent_huge_pages(true)?;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn huge_pages_are_off_once_disabled() {
        super::disable_transparent_huge_pages().expect("prctl(PR_SET_THP_DISABLE)");
        assert!(rustix::thread::transparent_huge_pages_are_disabled().expect("prctl(PR_GET_THP_DISABLE)"));
    }
}
