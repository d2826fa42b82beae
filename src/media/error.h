/* Readable error messages for the media functions' caller-supplied `err` buffers. */
#ifndef VIDGEN_MEDIA_ERROR_H
#define VIDGEN_MEDIA_ERROR_H

#include <stddef.h>

/* Formats the message into err (errlen bytes, owned by the caller; NULL or 0 to discard),
 * followed by ": " and FFmpeg's description of `averr` when averr < 0. Always returns -1,
 * so callers can `return media_error(...)`. */
int media_error(char *err, size_t errlen, int averr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
