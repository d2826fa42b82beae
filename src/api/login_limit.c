#include "api/login_limit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 8

struct slot {
    uint64_t key;     /* 0 = free */
    int64_t start_ms; /* when the window of its first counted failure began */
    int failures;
};

struct table {
    struct slot slots[LOGIN_LIMIT_SLOTS];
    int limit;
};

struct login_limit {
    pthread_mutex_t lock;
    unsigned char secret[crypto_shorthash_KEYBYTES]; /* keys are keyed hashes: no chosen collisions */
    struct table names, addrs;
};

struct login_limit *login_limit_new(void)
{
    struct login_limit *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    randombytes_buf(l->secret, sizeof l->secret);
    l->names.limit = LOGIN_LIMIT_PER_NAME;
    l->addrs.limit = LOGIN_LIMIT_PER_ADDR;
    return l;
}

void login_limit_free(struct login_limit *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static uint64_t key_of(const struct login_limit *l, const char *s)
{
    uint64_t k;
    crypto_shorthash((unsigned char *)&k, (const unsigned char *)s, strlen(s), l->secret);
    return k ? k : 1;
}

static bool expired(const struct slot *s, int64_t now_ms)
{
    return s->key == 0 || now_ms - s->start_ms >= LOGIN_LIMIT_WINDOW_S * 1000LL;
}

/* The slot of `key`, or NULL; with `make`, a fresh one in its place when there is none
 * (a free or expired slot among its probes, else the stalest of them). */
static struct slot *find(struct table *t, uint64_t key, int64_t now_ms, bool make)
{
    struct slot *spare = NULL;
    for (int i = 0; i < PROBES; i++) {
        struct slot *s = &t->slots[(key + (uint64_t)i) % LOGIN_LIMIT_SLOTS];
        if (s->key == key)
            return s;
        if (spare == NULL || (!expired(spare, now_ms) && (expired(s, now_ms) || s->start_ms < spare->start_ms)))
            spare = s;
    }
    if (!make)
        return NULL;
    *spare = (struct slot){.key = key, .start_ms = now_ms};
    return spare;
}

/* Seconds until `key` may try again; 0 when it may now. */
static int wait_for(struct table *t, uint64_t key, int64_t now_ms)
{
    struct slot *s = find(t, key, now_ms, false);
    if (s == NULL || expired(s, now_ms) || s->failures < t->limit)
        return 0;
    int64_t left = s->start_ms + LOGIN_LIMIT_WINDOW_S * 1000LL - now_ms;
    return (int)((left + 999) / 1000);
}

static void count(struct table *t, uint64_t key, int64_t now_ms)
{
    struct slot *s = find(t, key, now_ms, true);
    if (expired(s, now_ms))
        *s = (struct slot){.key = key, .start_ms = now_ms};
    s->failures++;
}

int login_limit_wait(struct login_limit *l, const char *name, const char *addr, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    int a = name ? wait_for(&l->names, key_of(l, name), now_ms) : 0, b = wait_for(&l->addrs, key_of(l, addr), now_ms);
    pthread_mutex_unlock(&l->lock);
    return a > b ? a : b;
}

void login_limit_failed(struct login_limit *l, const char *name, const char *addr, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    if (name != NULL)
        count(&l->names, key_of(l, name), now_ms);
    count(&l->addrs, key_of(l, addr), now_ms);
    pthread_mutex_unlock(&l->lock);
}

void login_limit_succeeded(struct login_limit *l, const char *name)
{
    pthread_mutex_lock(&l->lock);
    struct slot *s = find(&l->names, key_of(l, name), 0, false);
    if (s != NULL)
        *s = (struct slot){0};
    pthread_mutex_unlock(&l->lock);
}
