#include "util/id.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The last id made in this process: a new id in the same millisecond is the last one plus
 * one, so ids made here sort in the order they were made (a monotonic ULID). */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char last[16];

/* Adds one to the 80-bit random part; false when it would overflow. */
static bool increment_random(unsigned char bytes[16])
{
    for (int i = 15; i >= 6; i--)
        if (++bytes[i] != 0)
            return true;
    return false;
}

static void next_bytes(unsigned char bytes[16])
{
    uint64_t ms = (uint64_t)clock_now_ms();
    for (int i = 0; i < 6; i++)
        bytes[i] = (unsigned char)(ms >> (40 - 8 * i));
    pthread_mutex_lock(&last_lock);
    if (memcmp(bytes, last, 6) <= 0) { /* same millisecond (or the clock stepped back) */
        memcpy(bytes, last, 16);
        if (!increment_random(bytes))
            randombytes_buf(bytes + 6, 10);
    } else
        randombytes_buf(bytes + 6, 10);
    memcpy(last, bytes, 16);
    pthread_mutex_unlock(&last_lock);
}

void id_new(char out[ID_LEN + 1])
{
    unsigned char bytes[16];
    next_bytes(bytes);

    /* 128 bits as 26 five-bit digits, most significant first (the first digit holds 3 bits). */
    for (int i = 0; i < ID_LEN; i++) {
        int bit = 128 - 5 * (ID_LEN - i); /* start bit of digit i, may be negative for the first */
        unsigned v = 0;
        for (int b = 0; b < 5; b++) {
            int pos = bit + b;
            v <<= 1;
            if (pos >= 0)
                v |= (bytes[pos / 8] >> (7 - pos % 8)) & 1;
        }
        out[i] = alphabet[v];
    }
    out[ID_LEN] = '\0';
}

int id_valid(const char *s)
{
    if (strlen(s) != ID_LEN)
        return 0;
    for (; *s; s++)
        if (strchr(alphabet, *s) == NULL)
            return 0;
    return 1;
}

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_format_iso(int64_t ms, char out[25])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 25, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 25 - n, ".%03dZ", (int)(ms % 1000));
}
