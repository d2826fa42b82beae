/* A thread that gives the heap's free memory back to the system after a burst. With
 * M_MMAP_THRESHOLD at 1 MB (FFmpeg's decoders allocate and zero buffers up to that size on
 * every probe; mapping each afresh cost them twice the time), the HTTP side's request
 * buffers of 64 KB–1 MB come from the heap and, once a flood of them is freed, stay there.
 * Every HEAP_TRIM_EVERY_MS the thread looks at the heap's free bytes (mallinfo2) and, past
 * HEAP_TRIM_FREE_BYTES, calls malloc_trim(0), which returns free pages in the middle of
 * every arena too. */
#ifndef VIDGEN_UTIL_HEAP_TRIM_H
#define VIDGEN_UTIL_HEAP_TRIM_H

#define HEAP_TRIM_EVERY_MS 2000
#define HEAP_TRIM_FREE_BYTES (8u << 20)

struct heap_trim;

/* Starts the thread; NULL when it cannot start (then nothing is trimmed). */
struct heap_trim *heap_trim_start(void);
/* Stops and joins the thread and frees `t`. NULL is accepted. */
void heap_trim_stop(struct heap_trim *t);

#endif
