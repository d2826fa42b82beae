#include "media/avlog.h"

#include "util/log.h"

#include <libavutil/log.h>
#include <string.h>

/* Runs on whichever thread FFmpeg logs from: local buffer only; log_msg is thread-safe. */
static void forward(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING)
        return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n)
        log_msg(level <= AV_LOG_FATAL ? LOG_ERROR : LOG_DEBUG, "ffmpeg: %s", line);
}

void media_avlog_init(void)
{
    av_log_set_callback(forward);
}
