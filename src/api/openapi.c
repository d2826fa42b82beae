#include "api/openapi.h"

#include "util/embedded.h"

int api_openapi(struct api_call *c)
{
    const struct embedded_file *f = embedded_find(API_OPENAPI_PATH);
    if (f == NULL) /* only a build that left the file out of EMBEDDED */
        return api_fail_with(c, VG_ERR_INTERNAL, "", "this build has no OpenAPI document");
    return api_send_bytes(c->req, 200, "application/json", f->data, f->len);
}
