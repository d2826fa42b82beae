#include "util/parse.h"

#include <errno.h>
#include <stdlib.h>

int parse_int64(const char *s, long long min, long long max, long long *out)
{
    /* strtoll alone would skip leading spaces, take '+' and clamp an overflow. */
    const char *digits = s + (s[0] == '-');
    if (*digits < '0' || *digits > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_int(const char *s, int min, int max, int *out)
{
    long long v;
    if (parse_int64(s, min, max, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}
