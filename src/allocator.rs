//! The global allocator, and the settings that keep a scan's peak memory near what it holds.
//!
//! A scan builds and frees millions of small JSON values; mimalloc does that in a fraction of the
//! time glibc's allocator takes (BENCHMARKS.md). Left at its defaults, mimalloc 3 keeps freed
//! memory for a second before it returns it to the system (`purge_delay`, 1000 ms), longer than
//! an offline scan of 50 000 accounts takes, so the buffers a snapshot's files were read into
//! and the resources freed before the report is made still count in the peak; it asks for
//! transparent huge pages (`allow_thp`), so a 2 MiB page is zeroed and counted where a few
//! KiB are touched; and on Linux it commits its arenas whole when it reserves them
//! (`arena_eager_commit`), which measured 4.5 MB more peak at every tenant size, at no gain in
//! time (BENCHMARKS.md, "Eighth session"). All three cost memory and buy nothing for a process
//! that lives a few seconds.
//!
//! mimalloc reserves its first arena before `main` runs, so the options are set earlier still:
//! by a constructor that the loader runs before mimalloc's own ([`EARLY_OPTIONS`]). [`tune`]
//! sets them again from `main`, for a platform where that constructor does not run.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers, from `mi_option_t` in the mimalloc 3 header that
/// libmimalloc-sys 0.1.49 builds (`c_src/mimalloc/v3/include/mimalloc.h`); the Rust bindings
/// do not name these three. `OPTIONS_IN_HEADER` pins the header they were counted in.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
const OPTIONS_IN_HEADER: libmimalloc_sys::mi_option_t = 47;

/// Sets the three options. Arenas reserved from here on are committed as they are used, freed
/// memory goes back to the system at once, and no transparent huge pages are asked for.
fn set_options() {
    if libmimalloc_sys::_mi_option_last == OPTIONS_IN_HEADER {
        // SAFETY: `mi_option_set` stores a number in mimalloc's static option table (an atomic
        // store, no allocation, nothing that needs mimalloc initialised first); any thread may
        // call it at any time, and the three options are valid for mimalloc 3.
        unsafe {
            libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
            libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
        }
    }
}

/// Runs [`set_options`] when the program is loaded, before mimalloc's own constructor (ELF
/// constructors run in ascending priority, and those without one last; mimalloc's has priority
/// 101 when built by clang and none when built by gcc, `src/prim/prim.c`),
/// so that its process start (which reads the options, and on Linux turns transparent huge pages
/// off for the process when `allow_thp` is 0) and its first arena see them. An option set here
/// is marked as set: the `MIMALLOC_*` environment no longer overrides these three.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static EARLY_OPTIONS: extern "C" fn() = {
    extern "C" fn early_options() {
        set_options();
    }
    early_options
};

/// Sets the options again and turns transparent huge pages off for the process. Called first
/// thing by [`crate::app::run`]; harmless to call again.
pub fn tune() {
    set_options();
    // Where the constructor did not run, mimalloc reserved its first arena, asking for huge
    // pages, before `main`, and the option alone leaves that arena's pages huge (measured: 202
    // MB against 184 MB peak at 50 000 accounts). What mimalloc's start does itself when the
    // option is already 0: tell the kernel this process wants no transparent huge pages.
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
        let (eager_commit, purge_delay, allow_thp) = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
                libmimalloc_sys::mi_option_get(ALLOW_THP),
            )
        };
        assert_eq!((eager_commit, purge_delay, allow_thp), (0, 0, 0));
        #[cfg(target_os = "linux")]
        {
            // SAFETY: PR_GET_THP_DISABLE only reads this process's flag.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1, "transparent huge pages still allowed");
        }
    }
}
