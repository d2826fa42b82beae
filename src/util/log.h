/* Service log: one line per event on standard error, with a UTC timestamp and level, as
 * plain text (the default) or as one JSON object per line (VIDGEN_LOG_FORMAT=json):
 * {"ts":"2026-11-29T15:16:34.929Z","level":"info","msg":"…"} plus "generation":"<id>" on a
 * line about one generation (log_gen). Thread-safe (each line is one write). */
#ifndef VIDGEN_UTIL_LOG_H
#define VIDGEN_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_PLAIN, LOG_JSON };

/* Lines below `level` are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
/* How lines are written from now on. Default LOG_PLAIN. */
void log_set_format(enum log_format format);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about generation `generation_id` (NULL: none): in JSON its "generation" field; the
 * plain line is the message alone, which names the generation itself. */
void log_gen(enum log_level level, const char *generation_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* util/log_json.c: appends `src` to dst[*n..cap) as the inside of a JSON string (quotes,
 * backslashes and control bytes escaped; bytes that are not UTF-8 become U+FFFD); stops
 * before an escape that would not fit, leaving room for `reserve` bytes. */
void log_json_escape(char *dst, size_t *n, size_t cap, size_t reserve, const char *src);

#endif
