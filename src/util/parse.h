/* Whole numbers from outside input: environment, command line, query strings. */
#ifndef VIDGEN_UTIL_PARSE_H
#define VIDGEN_UTIL_PARSE_H

/* Parses all of the NUL-terminated `s` as a decimal integer in [min, max]: an optional '-'
 * then at least one digit, nothing else (no spaces, no '+', no trailing text). Returns 0
 * and sets *out, or -1 (out untouched) when `s` is empty, malformed, overflows or is out
 * of range. */
int parse_int64(const char *s, long long min, long long max, long long *out);

/* parse_int64 for an int. */
int parse_int(const char *s, int min, int max, int *out);

#endif
