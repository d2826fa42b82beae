/* Identifiers and clocks shared by every layer. */
#ifndef VIDGEN_UTIL_ID_H
#define VIDGEN_UTIL_ID_H

#include <stddef.h>
#include <stdint.h>

#define ID_LEN 26 /* characters of an id, without the NUL */

/* A new id: 48 bits of milliseconds then 80 random bits, in Crockford base32 (26 chars,
 * sortable by creation time, unguessable). `out` holds ID_LEN + 1 bytes. */
void id_new(char out[ID_LEN + 1]);

/* True when `s` has the shape of an id (so a malformed one is refused before any query). */
int id_valid(const char *s);

/* Milliseconds since the Unix epoch. */
int64_t clock_now_ms(void);
/* Milliseconds on the monotonic clock (intervals and timeouts within one process; not a time
 * of day, not comparable across hosts). */
int64_t clock_monotonic_ms(void);

/* ISO 8601 UTC with milliseconds, "2025-01-15T10:30:00.000Z"; `out` holds 25 bytes. */
void clock_format_iso(int64_t ms, char out[25]);

#endif
