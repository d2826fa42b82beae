/* jansson's allocations through a per-thread cache of small freed blocks (json_set_alloc_funcs).
 * Reading a provider's reply builds a tree of a few dozen small blocks and frees it at once,
 * thousands of times a second on the worker's loop; glibc's own per-thread cache keeps only
 * seven blocks of a size. Every block is an ordinary malloc block (a cached one is handed out
 * again only for a request of the same malloc size), so a block jansson gives out (json_dumps)
 * is still freed with free(), and blocks allocated before the switch are freed as well. */
#ifndef VIDGEN_WORKER_JSON_ALLOC_H
#define VIDGEN_WORKER_JSON_ALLOC_H

/* Installs the cache; call before other threads use jansson. Idempotent. */
void json_alloc_install(void);

#endif
