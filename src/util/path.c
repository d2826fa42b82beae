#include "util/path.h"

/* A segment is the text between two '/' (or an end): "", "." and ".." all escape or blur
 * the directory it is joined to. */
static bool segment_ok(const char *s, size_t n)
{
    return n > 0 && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

bool path_is_safe_relative(const char *rel, size_t len)
{
    if (rel == NULL || len == 0)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)rel[i] : '/';
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
        if (c == '/') {
            if (!segment_ok(rel + start, i - start))
                return false; /* also an absolute path: its first segment is empty */
            start = i + 1;
        }
    }
    return true;
}
