/* The process's memory allocator. Release builds link mimalloc (Debian's libmimalloc-dev)
 * ahead of the C library, so that it serves malloc and free for every library in the
 * process (libcurl, jansson, SQLite, FFmpeg, h2o): the worker's loop makes ~100 small
 * allocations per provider request, and glibc's malloc, in a heap fragmented by 10,000 jobs
 * held at once, spent 10-13 µs of each ~55 µs poll in its slow paths (bench/README.md,
 * "CPU per poll"). Sanitizer builds keep the sanitizer's own allocator. */
#ifndef VIDGEN_UTIL_ALLOCATOR_H
#define VIDGEN_UTIL_ALLOCATOR_H

/* Settles the allocator's options; first thing in main, before any thread starts. */
void allocator_init(void);

/* What serves malloc in this process, for the start-up log: "mimalloc 2.0.9", "the C
 * library's malloc", or a sentence saying mimalloc is linked but not in use. Static text. */
const char *allocator_name(void);

#endif
