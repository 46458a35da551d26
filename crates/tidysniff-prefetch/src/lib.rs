//! Cache-prefetch, huge-page and pre-fault hints: the only `unsafe` in the tidysniff workspace.
//!
//! The flow table's per-packet lookup is a cache miss on a large table (the dominant cost of
//! `tidysniff log` on captures with tens of thousands of concurrent flows). The engine looks a few
//! packets ahead and asks the CPU to start loading those flows' entries early; this crate gives it
//! a safe function for that. The same table, tens of megabytes read at random, also misses the
//! TLB on nearly every packet with 4 KiB pages: [`advise_huge_pages`] asks for transparent huge
//! pages for it, and [`prefault_in_background`] has a helper thread take the page faults (and the
//! zeroing of each 2 MiB page) before the table grows into them; [`PrefaultingAlloc`] does the
//! same for the heap's next fresh pages. `tidysniff-core` keeps `#![forbid(unsafe_code)]`.
//!
//! Soundness: `madvise(MADV_HUGEPAGE)`, `madvise(MADV_POPULATE_WRITE)` and
//! `prctl(PR_SET_THP_DISABLE)` only change how the kernel backs memory, never its contents or
//! validity. A prefetch is a hint. It never faults, never
//! reads into the program's view of memory and has no effect on program semantics; the address
//! comes from a live reference, so it is even a valid one. On targets without a stable prefetch
//! intrinsic the function does nothing.
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
        // Whole huge pages inside `mem` only (madvise wants a page-aligned start).
        let Some((lo, hi)) = whole_pages(mem, 2 << 20) else {
            return false;
        };
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

/// Has a background thread fault in the pages under `mem` writable
/// (`madvise(MADV_POPULATE_WRITE)`, Linux 5.14+), so that the thread that later writes there
/// does not wait for the kernel to allocate and zero them (for a 2 MiB huge page on a VM that is
/// hundreds of microseconds and at times milliseconds, seen as up to 0.1 s of a 1 GiB run).
/// Give it spare capacity the caller is about to grow into, a few megabytes ahead. The request
/// is queued and the call returns at once; the thread (`prefault`, started on the first call)
/// serves requests in order. Only whole 4 KiB pages inside `mem` are requested. Returns
/// whether the request was queued (always false off Linux).
///
/// Populating only makes pages present, exactly as the first write would; it never changes
/// memory contents, so it is sound even if `mem` has been freed (or reused) by the time the
/// thread gets to it: an unmapped range fails with an error the thread ignores.
pub fn prefault_in_background<T>(mem: &[T]) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::sync::mpsc::{channel, Sender};
        use std::sync::OnceLock;
        static QUEUE: OnceLock<Option<Sender<(usize, usize)>>> = OnceLock::new();
        let Some((lo, hi)) = whole_pages(mem, 4096) else {
            return false;
        };
        let queue = QUEUE.get_or_init(|| {
            let (tx, rx) = channel::<(usize, usize)>();
            std::thread::Builder::new()
                .name("prefault".into())
                .spawn(move || {
                    for (lo, len) in rx {
                        // SAFETY: MADV_POPULATE_WRITE only makes the pages of [lo, lo + len)
                        // present and writable, as a first write would, without writing; it
                        // changes no memory contents, protection or validity. If the range is
                        // no longer mapped the call fails (ENOMEM/EFAULT) and is ignored.
                        unsafe {
                            libc::madvise(lo as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE)
                        };
                    }
                })
                .ok()
                .map(|_| tx)
        });
        match queue {
            Some(tx) => tx.send((lo, hi - lo)).is_ok(),
            None => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = mem;
        false
    }
}

/// A global allocator that keeps the heap's next fresh memory faulted in by a helper thread.
///
/// On the bench VM a fresh 4 KiB page costs microseconds at first touch (the kernel zeroes it and
/// the hypervisor backs it), and an allocator carving blocks out of a fresh page touches every
/// one of them: on the 1 GiB bench, with tens of thousands of connections opened in the first
/// tenth of a second, ~10 % of the analysis thread was page faults under `malloc`. This wrapper
/// notes the address of each small allocation (at most [`SMALL_ALLOC`] bytes; one atomic load and
/// a compare when nothing is due): when one lands within [`HEAP_LEAD`] of the highest address
/// made resident so far, a helper thread (`heap-prefault`, started by
/// [`start_heap_prefault`]) is asked to populate the next `2 * HEAP_LEAD` bytes from there
/// (`madvise(MADV_POPULATE_WRITE)`). Allocators such as mimalloc hand out fresh pages of their
/// arena in increasing address order, so that is where the next allocations land; when they
/// land elsewhere (a new arena region), the window moves there. Cost: up to `2 * HEAP_LEAD` of
/// memory made resident and not used. On the 1 GiB bench: the analysis thread's page faults
/// 13,700 -> 4,200 (`perf record -e page-faults`), peak +5 MiB.
///
/// Until [`start_heap_prefault`] is called it only forwards to `A`.
pub struct PrefaultingAlloc<A>(pub A);

/// Allocations larger than this do not move the window (large blocks such as the flow table or
/// read buffers are placed apart from the small-object pages, and pre-fault themselves if they
/// need to).
pub const SMALL_ALLOC: usize = 64 << 10;

/// How close to the end of the resident window a small allocation may land before the window
/// moves on (it then extends `2 * HEAP_LEAD` past that allocation).
pub const HEAP_LEAD: usize = 512 << 10;

mod heap {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// End of the window asked for so far.
    pub(super) static HI: AtomicUsize = AtomicUsize::new(0);
    /// The latest request, one word so the helper never reads half of one: page number of its
    /// start (bits 20..) and its length in pages (bits 0..20).
    pub(super) static REQUEST: AtomicU64 = AtomicU64::new(0);
    pub(super) static HELPER: OnceLock<std::thread::Thread> = OnceLock::new();

    /// Packs `[lo, hi)` (page aligned, `hi - lo` under 4 GiB) into a request word.
    pub(super) fn pack(lo: usize, hi: usize) -> u64 {
        ((lo as u64 >> 12) << 20) | ((hi - lo) as u64 >> 12)
    }

    pub(super) fn unpack(w: u64) -> (usize, usize) {
        let lo = ((w >> 20) << 12) as usize;
        (lo, lo + (((w & 0xF_FFFF) << 12) as usize))
    }

    /// The window to ask for after a small allocation at `addr`, given the end `hi` of the last
    /// one: `None` while `addr` is more than `HEAP_LEAD` below `hi`.
    pub(super) fn window(addr: usize, hi: usize) -> Option<(usize, usize)> {
        if addr == 0 || addr.saturating_add(super::HEAP_LEAD) <= hi {
            return None;
        }
        let lo = addr.max(hi) & !4095;
        let end = addr.saturating_add(2 * super::HEAP_LEAD) & !4095;
        (lo < end).then_some((lo, end))
    }

    #[inline]
    pub(super) fn note(p: *mut u8, size: usize) {
        if size > super::SMALL_ALLOC {
            return;
        }
        let addr = p as usize;
        let Some((lo, end)) = window(addr, HI.load(Ordering::Relaxed)) else {
            return;
        };
        // Before the helper exists nothing is asked (and nothing allocates here: unpark does not).
        let Some(helper) = HELPER.get() else {
            return;
        };
        HI.store(end, Ordering::Relaxed);
        REQUEST.store(pack(lo, end), Ordering::Release);
        helper.unpark();
    }

    /// Counts the helper's populate calls (for tests).
    pub(super) static SERVED: AtomicUsize = AtomicUsize::new(0);
}

/// Starts the helper thread of [`PrefaultingAlloc`] (once; later calls return true at once).
/// Returns whether it runs (always false off Linux).
pub fn start_heap_prefault() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::sync::atomic::Ordering;
        if heap::HELPER.get().is_some() {
            return true;
        }
        let spawned = std::thread::Builder::new()
            .name("heap-prefault".into())
            .spawn(|| {
                let mut done = (0usize, 0usize);
                loop {
                    let (lo, hi) = heap::unpack(heap::REQUEST.load(Ordering::Acquire));
                    if lo < hi && (lo, hi) != done {
                        // What the previous request covered need not be asked again.
                        let from = if lo >= done.0 && lo < done.1 {
                            done.1
                        } else {
                            lo
                        };
                        if from < hi {
                            // SAFETY: MADV_POPULATE_WRITE only makes the pages of [from, hi)
                            // present and writable, as a first write would, without writing: it
                            // changes no memory contents, protection or validity, whoever owns
                            // those pages (a private file page is copied with the same bytes).
                            // An unmapped or non-writable range fails (EFAULT/ENOMEM) and the
                            // error is ignored.
                            unsafe {
                                libc::madvise(
                                    from as *mut libc::c_void,
                                    hi - from,
                                    libc::MADV_POPULATE_WRITE,
                                )
                            };
                            heap::SERVED.fetch_add(1, Ordering::Relaxed);
                        }
                        done = (lo, hi);
                    } else {
                        std::thread::park();
                    }
                }
            });
        match spawned {
            Ok(h) => {
                let _ = heap::HELPER.set(h.thread().clone());
                true
            }
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged and returns what
// `A` returned; `note` only reads the returned address as a number.
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for PrefaultingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on unchanged.
        let p = unsafe { self.0.alloc(layout) };
        heap::note(p, layout.size());
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        heap::note(p, layout.size());
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as for `alloc`.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        heap::note(p, new_size);
        p
    }
}

/// The addresses `[lo, hi)` of the whole `page`-sized (power of two) pages inside `mem`, if any.
#[cfg(target_os = "linux")]
fn whole_pages<T>(mem: &[T], page: usize) -> Option<(usize, usize)> {
    let start = mem.as_ptr() as usize;
    let end = start.saturating_add(core::mem::size_of_val(mem));
    let lo = start.saturating_add(page - 1) & !(page - 1);
    let hi = end & !(page - 1);
    (lo < hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
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

    #[cfg(target_os = "linux")]
    fn resident_pages(mem: &[core::mem::MaybeUninit<u8>]) -> (usize, usize) {
        let (lo, hi) = super::whole_pages(mem, 4096).unwrap();
        let mut vec = std::vec![0u8; (hi - lo) / 4096];
        // SAFETY: mincore only reads page-table state into `vec`, which has one byte per page of
        // [lo, hi), a page-aligned range inside `mem`.
        let r = unsafe { libc::mincore(lo as *mut libc::c_void, hi - lo, vec.as_mut_ptr()) };
        assert_eq!(r, 0);
        (vec.iter().filter(|b| **b & 1 == 1).count(), vec.len())
    }

    #[test]
    fn heap_window_moves_only_near_its_end() {
        use super::heap::{pack, unpack, window};
        const L: usize = super::HEAP_LEAD;
        let base = 0x7f00_0000_0000usize;
        // Nothing asked yet: the window starts at the allocation.
        assert_eq!(window(base + 100, 0), Some((base, base + 2 * L)));
        // Well inside the resident window: nothing to do.
        assert_eq!(window(base + 100, base + 2 * L), None);
        assert_eq!(window(base + L, base + 2 * L), None);
        // Within the lead of its end: extend from the end.
        assert_eq!(
            window(base + L + 4096, base + 2 * L),
            Some((base + 2 * L, base + 3 * L + 4096))
        );
        // Far above (a new region): start there, not at the old end.
        assert_eq!(
            window(base + 100 * L, base + 2 * L),
            Some((base + 100 * L, base + 102 * L))
        );
        assert_eq!(window(0, 0), None);
        let (lo, hi) = (base + 8192, base + 8192 + 2 * L);
        assert_eq!(unpack(pack(lo, hi)), (lo, hi));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn heap_prefault_makes_the_window_after_an_allocation_resident() {
        use core::mem::MaybeUninit;
        use std::alloc::{GlobalAlloc, Layout, System};
        // Fresh address space standing in for an allocator's arena: an allocation "lands" 1 MiB
        // in (this test calls the wrapper's bookkeeping directly with that address).
        let mut arena: Vec<u8> = Vec::with_capacity(16 << 20);
        let spare: &[MaybeUninit<u8>] = arena.spare_capacity_mut();
        let off = spare.as_ptr().align_offset(4096);
        let page = |i: usize| &spare[off + (i << 12)..off + ((i + 1) << 12)];
        let (_, pages) = resident_pages(spare);
        assert!(pages >= 4000);
        let landed = spare[off + (1 << 20) + 64..].as_ptr() as *mut u8;
        assert!(super::start_heap_prefault());
        super::heap::note(landed, 48);
        // The next 2 * HEAP_LEAD bytes from the allocation become resident; far beyond stays
        // untouched.
        let (first, n) = ((1 << 20) >> 12, (2 * super::HEAP_LEAD) >> 12);
        let t0 = std::time::Instant::now();
        while resident_pages(page(first + n - 1)).0 == 0 {
            assert!(
                t0.elapsed().as_secs() < 10,
                "window not populated after 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let resident = (first..first + n)
            .filter(|&i| resident_pages(page(i)).0 == 1)
            .count();
        assert_eq!(resident, n, "the whole window is resident");
        assert_eq!(resident_pages(&spare[12 << 20..]).0, 0, "nothing far ahead");
        // A large allocation does not move the window.
        let served = super::heap::SERVED.load(std::sync::atomic::Ordering::Relaxed);
        super::heap::note(spare[8 << 20..].as_ptr() as *mut u8, super::SMALL_ALLOC + 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(resident_pages(&spare[8 << 20..]).0, 0);
        assert_eq!(
            super::heap::SERVED.load(std::sync::atomic::Ordering::Relaxed),
            served
        );
        // The wrapper forwards to its allocator.
        let a = super::PrefaultingAlloc(System);
        let l = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: a valid non-zero layout; the block is freed with the same layout.
        unsafe {
            let p = a.alloc_zeroed(l);
            assert!(!p.is_null() && *p == 0);
            a.dealloc(p, l);
        }
        arena.push(1);
        assert_eq!(arena, [1]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn prefault_makes_spare_capacity_resident_without_changing_it() {
        let mut v: Vec<u8> = Vec::with_capacity(8 << 20);
        v.extend_from_slice(b"kept");
        let (before, pages) = resident_pages(&v.spare_capacity_mut()[..]);
        assert!(pages > 1000);
        assert!(before < pages, "fresh capacity is not all resident yet");
        assert!(super::prefault_in_background(&v.spare_capacity_mut()[..]));
        let t0 = std::time::Instant::now();
        loop {
            let (now, _) = resident_pages(&v.spare_capacity_mut()[..]);
            if now == pages {
                break;
            }
            assert!(
                t0.elapsed().as_secs() < 10,
                "{now} of {pages} pages resident after 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(&v[..], b"kept");
        v.resize(8 << 20, 9);
        assert!(v[4..].iter().all(|b| *b == 9));
        // Less than one whole page: nothing to ask for.
        let small = [0u8; 100];
        assert!(!super::prefault_in_background(&small[1..50]));
    }
}
