/* The rule for user names, shared by `vidgen user add` and POST /admin/users. */
#ifndef VIDGEN_CORE_USER_NAME_H
#define VIDGEN_CORE_USER_NAME_H

#include <stdbool.h>

/* 1–64 bytes of letters, digits, '.', '_', '-' (names appear in commands and logs). */
bool user_name_valid(const char *name);

#endif
