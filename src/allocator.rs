//! The global allocator, and the two settings that keep a scan's peak memory near what it holds.
//!
//! A scan builds and frees millions of small JSON values; mimalloc does that in a fraction of the
//! time glibc's allocator takes (BENCHMARKS.md). Left at its defaults, mimalloc 3 keeps freed
//! memory for a second before it returns it to the system (`purge_delay`, 1000 ms), longer than
//! an offline scan of 50 000 accounts takes, so the buffers a snapshot's files were read into
//! and the resources freed before the report is made still count in the peak; and it asks for
//! transparent huge pages (`allow_thp`), so a 2 MiB page is zeroed and counted where a few
//! KiB are touched. Both cost memory and the kernel's time clearing pages, and buy nothing for
//! a process that lives a few seconds.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers, from `mi_option_t` in the mimalloc 3 header that
/// libmimalloc-sys 0.1.49 builds (`c_src/mimalloc/v3/include/mimalloc.h`); the Rust bindings
/// do not name these two. `OPTIONS_IN_HEADER` pins the header they were counted in.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
const OPTIONS_IN_HEADER: libmimalloc_sys::mi_option_t = 47;

/// Freed memory goes back to the system at once, and no transparent huge pages are asked for
/// or given from here on. Called first thing by [`crate::app::run`]; harmless to call again.
pub fn tune() {
    if libmimalloc_sys::_mi_option_last == OPTIONS_IN_HEADER {
        // SAFETY: `mi_option_set` stores a number in mimalloc's option table (an atomic
        // store); any thread may call it at any time, and both options are valid for mimalloc 3.
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
            libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
        }
    }
    // mimalloc reserved its first arena, asking for huge pages, before `main`: the option
    // alone leaves that arena's pages huge (measured: 202 MB against 184 MB peak at 50 000
    // accounts). What mimalloc does itself when the option is set from the environment:
    // tell the kernel this process wants no transparent huge pages.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process;
    // a refusal (an old kernel) leaves things as they were, which is fine.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_returns_freed_memory_at_once_and_asks_for_no_huge_pages() {
        // The option numbers were counted in this version's header: a mimalloc whose option
        // list changed must be counted again, not set blindly.
        assert_eq!(libmimalloc_sys::_mi_option_last, OPTIONS_IN_HEADER);
        tune();
        // SAFETY: reading an option is an atomic load.
        let (purge_delay, allow_thp) = unsafe {
            (
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
                libmimalloc_sys::mi_option_get(ALLOW_THP),
            )
        };
        assert_eq!((purge_delay, allow_thp), (0, 0));
        #[cfg(target_os = "linux")]
        {
            // SAFETY: PR_GET_THP_DISABLE only reads this process's flag.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1, "transparent huge pages still allowed");
        }
    }
}
