#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_PLAIN;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

void log_set_format(enum log_format f)
{
    format = f;
}

/* "2026-11-29T15:16:34.929Z" */
static void timestamp(char *dst, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(dst + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* {"ts":…,"level":…,"msg":…[,"generation":…]} into line; its length. */
static size_t json_line(char *line, size_t cap, const char *ts, enum log_level level, const char *generation_id,
                        const char *msg)
{
    size_t n = (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_names[level]);
    size_t tail = generation_id ? strlen(generation_id) * 6 + 20 : 0; /* room for the id, escaped */
    log_json_escape(line, &n, cap, tail + 4, msg);
    line[n++] = '"';
    if (generation_id != NULL) {
        memcpy(line + n, ",\"generation\":\"", 15);
        n += 15;
        log_json_escape(line, &n, cap, 4, generation_id);
        line[n++] = '"';
    }
    line[n++] = '}';
    return n;
}

static void log_line(enum log_level level, const char *generation_id, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES], msg[2048], ts[40];
    size_t n;
    if (level < min_level || (unsigned)level > LOG_ERROR)
        return;
    timestamp(ts, sizeof ts);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0)
        msg[0] = '\0';
    if (format == LOG_JSON)
        n = json_line(line, sizeof line - 1, ts, level, generation_id, msg);
    else {
        m = snprintf(line, sizeof line - 1, "%s %s %s", ts, level_names[level], msg);
        n = m < 0 ? 0 : (size_t)m >= sizeof line - 1 ? sizeof line - 2 : (size_t)m;
    }
    line[n++] = '\n';
    /* One write per line, so lines from several threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, NULL, fmt, ap);
    va_end(ap);
}

void log_gen(enum log_level level, const char *generation_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(level, generation_id, fmt, ap);
    va_end(ap);
}
