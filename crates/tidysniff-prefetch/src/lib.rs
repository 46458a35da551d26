//! A cache-prefetch hint, the only `unsafe` in the tidysniff workspace.
//!
//! The flow table's per-packet lookup is a cache miss on a large table (the dominant cost of
//! `tidysniff log` on captures with tens of thousands of concurrent flows). The engine looks a few
//! packets ahead and asks the CPU to start loading those flows' entries early; this crate gives it
//! a safe function for that. The same table, tens of megabytes read at random, also misses the
//! TLB on nearly every packet with 4 KiB pages: [`advise_huge_pages`] asks for transparent huge
//! pages for it. `tidysniff-core` keeps `#![forbid(unsafe_code)]`.
//!
//! Soundness: `madvise(MADV_HUGEPAGE)` and `prctl(PR_SET_THP_DISABLE)` only change how the kernel
//! backs memory, never its contents or validity. A prefetch is a hint. It never faults, never
//! reads into the program's view of memory and has no effect on program semantics; the address
//! comes from a live reference, so it is even a valid one. On targets without a stable prefetch
//! intrinsic the function does nothing.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

/// Hints that `*r` will be read soon (into all cache levels).
#[inline(always)]
pub fn read<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` only hints the cache; it cannot fault or change memory, and the
        // pointer comes from a valid reference. SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = r;
    }
}

/// Hints that the `bytes` bytes starting at `*r` will be read soon (one hint per 64-byte line).
#[inline(always)]
pub fn read_bytes<T>(r: &T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (r as *const T).cast::<i8>();
        let n = bytes.min(core::mem::size_of::<T>()).max(1);
        let mut off = 0;
        while off < n {
            // SAFETY: as in `read`; `off < size_of::<T>()` keeps the address inside `*r` (and
            // `wrapping_add` makes no in-bounds claim in any case).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) }
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (r, bytes);
    }
}

/// Lets this process use transparent huge pages where it asks for them (`prctl(PR_SET_THP_DISABLE,
/// 0)`, Linux). The CLI's allocator (mimalloc built with `no_thp`) turns them off for the whole
/// process at start, to keep its own heap in small pages; the CLI calls this afterwards so that
/// [`advise_huge_pages`] takes effect for the flow table. A program embedding the library decides
/// for itself. Returns whether the kernel accepted (always false off Linux).
pub fn allow_huge_pages() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE with 0 only clears a per-process flag that decides whether
        // transparent huge pages may be used; it touches no memory of this process.
        let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0 as libc::c_ulong, 0, 0, 0) };
        r == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Asks the kernel to back `mem` with transparent huge pages (`madvise(MADV_HUGEPAGE)`, Linux):
/// a table read at random over tens of megabytes then needs one TLB entry per 2 MiB instead of
/// one per 4 KiB, so its prefetches do not wait for page walks. Only whole 2 MiB pages inside
/// `mem` are affected, and memory is still committed only when first touched. Give it a
/// freshly reserved buffer, such as `Vec::with_capacity(n).spare_capacity_mut()`. Returns
/// whether the kernel took the advice (always false off Linux). Like a prefetch, the advice
/// never changes the contents or validity of memory.
pub fn advise_huge_pages<T>(mem: &mut [T]) -> bool {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = mem.as_mut_ptr() as usize;
        let end = start.saturating_add(core::mem::size_of_val(mem));
        // Whole huge pages inside `mem` only (madvise wants a page-aligned start).
        let lo = start.saturating_add(HUGE - 1) & !(HUGE - 1);
        let hi = end & !(HUGE - 1);
        if hi <= lo {
            return false;
        }
        // SAFETY: [lo, hi) lies inside `mem`, which the caller borrows mutably, so the range is
        // mapped memory this process owns. MADV_HUGEPAGE only changes how the kernel backs the
        // pages (never their contents, protection or validity); errors are returned, not raised.
        let r = unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        r == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = mem;
        false
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn huge_page_advice_covers_whole_pages_only_and_keeps_contents() {
        // Smaller than one huge page: nothing to advise.
        let mut small = [0u8; 4096];
        assert!(!super::advise_huge_pages(&mut small));
        // 8 MiB holds at least three whole aligned huge pages.
        let mut v: Vec<u64> = (0..(1u64 << 20)).collect();
        let thp = std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists();
        assert_eq!(
            super::advise_huge_pages(&mut v),
            cfg!(target_os = "linux") && thp
        );
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64));
        // Fresh capacity, as the flow table gives it.
        let mut fresh: Vec<[u8; 672]> = Vec::with_capacity(20_000);
        super::advise_huge_pages(fresh.spare_capacity_mut());
        fresh.push([7; 672]);
        assert_eq!(fresh[0][671], 7);
        // Allowing huge pages again is accepted on Linux.
        assert_eq!(super::allow_huge_pages(), cfg!(target_os = "linux"));
        super::read_bytes(&v, 256);
    }
}
