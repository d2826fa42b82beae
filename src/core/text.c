#include "core/text.h"

size_t text_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) /* count lead bytes, not continuation bytes */
            n++;
    return n;
}

bool text_is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

bool text_has_control(const char *s, bool allow_newlines)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (allow_newlines && (c == '\n' || c == '\t' || c == '\r'))
            continue;
        if (c < 0x20 || c == 0x7F)
            return true;
    }
    return false;
}
