#include "worker/json_alloc.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* glibc's chunk of a request of n bytes: n + 8 rounded up to 16, at least 32; its usable size
 * (malloc_usable_size) is the chunk's minus 8: 24, 40, 56, … Classes by usable size / 16. */
#define CLASSES 33 /* usable sizes up to 520 bytes */
#define KEEP 256   /* blocks kept per class and thread */

struct cache {
    void *head[CLASSES];
    unsigned n[CLASSES];
    bool registered;
};

static _Thread_local struct cache cache;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static size_t class_of_request(size_t n)
{
    size_t chunk = n + 8 < 32 ? 32 : (n + 8 + 15) & ~(size_t)15;
    return (chunk - 8) >> 4;
}

static void *cached_malloc(size_t n)
{
    size_t c = n < 1024 ? class_of_request(n) : CLASSES;
    if (c < CLASSES && cache.head[c] != NULL) {
        void *p = cache.head[c];
        cache.head[c] = *(void **)p;
        cache.n[c]--;
        return p;
    }
    return malloc(n);
}

/* A thread's cache goes back to malloc when the thread ends. */
static void drain(void *arg)
{
    struct cache *k = arg;
    for (size_t c = 0; c < CLASSES; c++)
        while (k->head[c] != NULL) {
            void *p = k->head[c];
            k->head[c] = *(void **)p;
            free(p);
        }
}

static void make_key(void)
{
    pthread_key_create(&key, drain);
}

static void cached_free(void *p)
{
    if (p == NULL)
        return;
    size_t c = malloc_usable_size(p) >> 4;
    if (c >= CLASSES || cache.n[c] >= KEEP) {
        free(p);
        return;
    }
    if (!cache.registered) {
        pthread_once(&once, make_key);
        if (pthread_setspecific(key, &cache) != 0) {
            free(p);
            return;
        }
        cache.registered = true;
    }
    *(void **)p = cache.head[c];
    cache.head[c] = p;
    cache.n[c]++;
}

void json_alloc_install(void)
{
    json_set_alloc_funcs(cached_malloc, cached_free);
}
