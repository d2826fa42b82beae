/* A worker's name, as the store keeps it in a lease (lease_owner): "HOST:PID:TAG". The host
 * and process id let another process on the same host tell whether the holder of a lease is
 * still running (tmpfiles.c); the random tag tells apart two processes that got the same
 * pid (a restarted container). */
#ifndef VIDGEN_WORKER_OWNER_H
#define VIDGEN_WORKER_OWNER_H

#include <stddef.h>
#include <sys/types.h>

#include "store/store.h"

#define OWNER_HOST_MAX 63 /* host names are cut to this many bytes */

/* This host's name as owner names carry it, into `host` (OWNER_HOST_MAX + 1 bytes). */
void owner_host(char host[OWNER_HOST_MAX + 1]);

/* A fresh name for this process's worker into `out` (STORE_LEASE_OWNER_MAX + 1 bytes). */
void owner_new(char out[STORE_LEASE_OWNER_MAX + 1]);

/* Splits `owner` into its host (OWNER_HOST_MAX + 1 bytes) and pid. -1 when it is not an
 * owner name. */
int owner_parse(const char *owner, char host[OWNER_HOST_MAX + 1], pid_t *pid);

#endif
