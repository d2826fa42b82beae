/* The SQLite store backend (WAL, busy timeout, prepared statements, numbered migrations). */
#ifndef VIDGEN_STORE_SQLITE_H
#define VIDGEN_STORE_SQLITE_H

#include <stddef.h>

struct store;

/* Opens (creating if needed) the database file at `path`. NULL with a message on failure. */
struct store *sqlite_store_open(const char *path, char *err, size_t errlen);

#endif
