/* The process's memory allocator. The service's binary links mimalloc (Debian's
 * libmimalloc-dev) ahead of the C library, so that it serves malloc and free for every
 * library in the process (libcurl, jansson, SQLite, FFmpeg, h2o). The worker's loop makes
 * a few hundred small allocations per provider request, most of them libcurl's, and glibc's
 * malloc, in a heap that holds 10,000 jobs, served them through its slow paths
 * (bench/README.md, remote jobs, "Results at 2cb5786"). Unit tests and sanitizer builds keep the C
 * library's (or the sanitizer's) malloc: nothing here needs mimalloc at link time. */
#ifndef VIDGEN_UTIL_ALLOCATOR_H
#define VIDGEN_UTIL_ALLOCATOR_H

/* Finds mimalloc's functions when it is in the process; first thing in main, before any
 * thread starts. mimalloc runs on its defaults (MIMALLOC_* in the environment still apply):
 * what it keeps after a burst, the threads give back (allocator_give_back). */
void allocator_init(void);

/* Gives the free memory the allocator keeps for the calling thread back to the system.
 * mimalloc returns a thread's freed pages only as that thread allocates again, so an HTTP
 * loop left idle after a flood of large bodies would keep tens of MB. Walks the thread's
 * heap (tens of µs for a loop's): for a periodic call, not a hot path. Nothing on glibc. */
void allocator_give_back(void);

/* What serves malloc in this process, for the start-up log: "mimalloc 2.0.9", "the C
 * library's malloc", or a sentence saying mimalloc is loaded but does not serve malloc.
 * Static text. */
const char *allocator_name(void);

#endif
