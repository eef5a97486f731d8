//! How the process asks glibc's allocator for big buffers, so that memory a closed connection
//! gives back goes back to the system, and how it hands back the pages a crowd of connections
//! left free once they parked.
//!
//! glibc serves a large allocation with its own `mmap` and unmaps it when freed, but the first
//! time such a block is freed it raises that threshold to the block's size (up to 32 MiB): from
//! then on buffers of a few MiB come from the heap, and freed ones in the middle of it are kept.
//! Measured with 200 clients each streaming a 15 MiB frame (backend/tests/memory_bound.rs):
//! 510 MiB peak and 152 MiB kept afterwards with the default, 267 MiB and 10 MiB with the
//! threshold fixed, against a 256 MiB memory budget. Fixing it also turns off the raising.

/// Blocks of this size and more get a mapping of their own, returned to the system when freed:
/// glibc's own starting value. A 128 KiB-or-more message costs an `mmap` and a `munmap`, next to
/// copying and unmasking it, which cost more.
pub const OWN_MAPPING_FROM_BYTES: i32 = 128 * 1024;

/// Call once at start-up, before other threads exist.
pub fn give_big_buffers_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator; called before any other
    // thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_FROM_BYTES);
    }
}

/// Gives back to the system every page of the heap that no live block uses (glibc's
/// `malloc_trim(0)`). glibc does not do it by itself for free pages in the middle of a heap, and
/// the handshakes of a crowd of connections leave tens of MB of them once the connections park
/// (bench/RESULTS.md: 1,615 -> 287 bytes of RSS per parked connection, 19,000 held). It locks
/// each arena in turn while it walks it (0.1-0.7 ms measured here): called only once a crowd has
/// parked and settled ([`crate::connection::parking::lot`]), not on a period.
pub fn give_free_pages_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
