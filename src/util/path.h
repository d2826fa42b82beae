/* Paths relative to the data directory, as the database holds them. */
#ifndef VIDGEN_UTIL_PATH_H
#define VIDGEN_UTIL_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* True when the `len` bytes at `rel` name a file inside whatever directory they are joined
 * to: not empty, not absolute, every '/'-separated segment non-empty and neither "." nor
 * "..", and no backslash, NUL or other control byte (0x00-0x1f, 0x7f). Anything else is
 * refused rather than opened or removed, whoever wrote it. */
bool path_is_safe_relative(const char *rel, size_t len);

#endif
