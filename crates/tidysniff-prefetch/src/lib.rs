//! A cache-prefetch hint, the only `unsafe` in the tidysniff workspace.
//!
//! The flow table's per-packet lookup is a cache miss on a large table (the dominant cost of
//! `tidysniff log` on captures with tens of thousands of concurrent flows). The engine looks a few
//! packets ahead and asks the CPU to start loading those flows' entries early; this crate gives it
//! a safe function for that. `tidysniff-core` keeps `#![forbid(unsafe_code)]`.
//!
//! Soundness: a prefetch is a hint. It never faults, never reads into the program's view of
//! memory and has no effect on program semantics; the address comes from a live reference, so
//! it is even a valid one. On targets without a stable prefetch intrinsic the function does
//! nothing.
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
