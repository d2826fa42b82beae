/* The process's own figures for GET /metrics: resident memory, open files, start time and
 * what it was built from. Read from /proc at each scrape (a few small reads, no scan of
 * anything that grows with use beyond the descriptor table). */
#ifndef VIDGEN_METRICS_PROCESS_H
#define VIDGEN_METRICS_PROCESS_H

#include <stdio.h>

/* vidgen_build_info's version label; the Makefile may set it. */
#ifndef VIDGEN_VERSION
#define VIDGEN_VERSION "dev"
#endif

/* Writes vidgen_process_resident_memory_bytes, vidgen_process_open_fds,
 * vidgen_process_max_fds, vidgen_process_start_time_seconds and vidgen_build_info. */
void metrics_process_write(FILE *out);

#endif
