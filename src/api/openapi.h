/* The OpenAPI 3.1 document of every route (DESIGN §7): config/openapi.json, compiled into the
 * binary by tools/embed.sh, served as it is. */
#ifndef VIDGEN_API_OPENAPI_H
#define VIDGEN_API_OPENAPI_H

#include "api/call.h"

/* Where the document is in the source tree, and its name among the embedded files. */
#define API_OPENAPI_PATH "config/openapi.json"

/* GET /api/openapi.json and GET API_PREFIX/openapi.json: the document, no token needed. */
int api_openapi(struct api_call *c);

#endif
