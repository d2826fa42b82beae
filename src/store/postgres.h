/* The PostgreSQL store backend (libpq, one connection per struct store, prepared
 * statements, numbered migrations under an advisory lock). */
#ifndef VIDGEN_STORE_POSTGRES_H
#define VIDGEN_STORE_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* Connects to the database at `url` (postgres://… or postgresql://…, libpq's URI form).
 * With `patient`, a server that is down or starting is waited for (capped backoff, logged once
 * per reason) until it answers or SIGINT/SIGTERM is pending; without, one try. NULL with a
 * message on failure; the message names the URL without its password. */
struct store *postgres_store_open(const char *url, bool patient, char *err, size_t errlen);

#endif
