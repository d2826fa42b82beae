/* Checks on user text (names, prompts). Input is UTF-8 already validated by the JSON parser. */
#ifndef VIDGEN_CORE_TEXT_H
#define VIDGEN_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length in Unicode code points. */
size_t text_length(const char *s);
/* True when `s` holds nothing but white space. */
bool text_is_blank(const char *s);
/* True when `s` holds a control character (U+0000–U+001F, U+007F); tab and newline
 * are allowed when `allow_newlines`. */
bool text_has_control(const char *s, bool allow_newlines);

#endif
