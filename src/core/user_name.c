#include "core/user_name.h"

#include <string.h>

#include "store/store.h"

bool user_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > STORE_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-", *p)))
            return false;
    return true;
}
