#include "worker/owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/id.h"

void owner_host(char host[OWNER_HOST_MAX + 1])
{
    if (gethostname(host, OWNER_HOST_MAX + 1) != 0)
        strcpy(host, "host");
    host[OWNER_HOST_MAX] = '\0'; /* gethostname need not terminate a name it cut */
    for (char *p = host; *p; p++)
        if (*p == ':') /* the separator */
            *p = '_';
}

void owner_new(char out[STORE_LEASE_OWNER_MAX + 1])
{
    char host[OWNER_HOST_MAX + 1], rnd[ID_LEN + 1];
    owner_host(host);
    id_new(rnd);
    snprintf(out, STORE_LEASE_OWNER_MAX + 1, "%s:%d:%s", host, (int)getpid(), rnd + 16);
}

int owner_parse(const char *owner, char host[OWNER_HOST_MAX + 1], pid_t *pid)
{
    const char *c1 = strchr(owner, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char *end;
    if (c1 == NULL || c2 == NULL || c1 == owner || (size_t)(c1 - owner) > OWNER_HOST_MAX)
        return -1;
    long n = strtol(c1 + 1, &end, 10);
    if (end != c2 || end == c1 + 1 || n <= 0 || n > 0x7fffffff)
        return -1;
    memcpy(host, owner, (size_t)(c1 - owner));
    host[c1 - owner] = '\0';
    *pid = (pid_t)n;
    return 0;
}
