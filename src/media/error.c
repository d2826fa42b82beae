#include "media/error.h"

#include <libavutil/error.h>
#include <stdarg.h>
#include <stdio.h>

int media_error(char *err, size_t errlen, int averr, const char *fmt, ...)
{
    if (!err || !errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (averr < 0 && n >= 0 && (size_t)n + 2 < errlen) {
        char why[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(averr, why, sizeof why);
        snprintf(err + n, errlen - (size_t)n, ": %s", why);
    }
    return -1;
}
