/* Projects: list, create, get, rename/describe, delete. Always scoped to the caller: a
 * project of another user is 404, never 403, so ids reveal nothing. */
#include "api/handlers.h"
#include "api/views.h"
#include "core/text.h"
#include "util/parse.h"

#define PROJECT_NAME_MAX 100         /* characters */
#define PROJECT_DESCRIPTION_MAX 2000 /* characters */

/* Generations shown in a project, newest first: the default page of GET /generations, so
 * generationsNextCursor continues exactly where a client paging that endpoint would. It
 * bounds a reply however many a project holds (19,413 once made a 49 MB reply). */
#define PROJECT_RECENT 20
/* Projects per page of GET /projects, as GET /generations pages: a page holds at most
 * PAGE_MAX * PROJECT_RECENT generations. */
#define PAGE_DEFAULT 20
#define PAGE_MAX 100

static enum vg_err check_name(json_t *v, const char **out, struct vg_error *err)
{
    if (!json_is_string(v))
        return vg_fail(err, VG_ERR_INVALID, "name", "name must be a string");
    const char *s = json_string_value(v);
    if (text_is_blank(s))
        return vg_fail(err, VG_ERR_INVALID, "name", "name must not be empty");
    if (text_length(s) > PROJECT_NAME_MAX)
        return vg_fail(err, VG_ERR_INVALID, "name", "name is longer than %d characters", PROJECT_NAME_MAX);
    if (text_has_control(s, false))
        return vg_fail(err, VG_ERR_INVALID, "name", "name must not contain control characters");
    *out = s;
    return VG_OK;
}

/* A description is a string, or null for none. */
static enum vg_err check_description(json_t *v, const char **out, struct vg_error *err)
{
    *out = NULL;
    if (json_is_null(v))
        return VG_OK;
    if (!json_is_string(v))
        return vg_fail(err, VG_ERR_INVALID, "description", "description must be a string or null");
    const char *s = json_string_value(v);
    if (text_length(s) > PROJECT_DESCRIPTION_MAX)
        return vg_fail(err, VG_ERR_INVALID, "description", "description is longer than %d characters",
                       PROJECT_DESCRIPTION_MAX);
    if (text_has_control(s, true))
        return vg_fail(err, VG_ERR_INVALID, "description", "description must not contain control characters");
    *out = s[0] ? s : NULL;
    return VG_OK;
}

static int reply_summary(struct api_call *c, int status, const struct project_summary *p)
{
    return api_reply(c, status, json_pack("{s:b, s:o}", "success", 1, "project", view_project(p)));
}

/* Sends the user's project `id` with its newest generations; 404 when it is not theirs. */
static int reply_project(struct api_call *c, int status, const char *id)
{
    struct project_query q = {.user_id = c->user.id, .id = id, .limit = 1, .recent = PROJECT_RECENT};
    struct project_list l;
    struct vg_error err;
    if (store_project_list(c->t->store, &q, &l, &err) != VG_OK)
        return api_fail(c, &err);
    if (l.n == 0)
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such project");
    int rc = reply_summary(c, status, &l.items[0]);
    project_list_free(&l);
    return rc;
}

/* Reads ?limit=&before= into `q`; the cursor is kept in `before`. */
static enum vg_err read_page_query(struct api_call *c, struct project_query *q, char before[64], struct vg_error *err)
{
    char limit[16];
    if (api_query(c, "before", before, 64) < 0 || (before[0] && !id_valid(before)))
        return vg_fail(err, VG_ERR_INVALID, "before", "before must be a project id (nextCursor)");
    q->before_id = before[0] ? before : NULL;
    q->limit = PAGE_DEFAULT;
    int len = api_query(c, "limit", limit, sizeof limit);
    if (len == 0)
        return VG_OK;
    if (len < 0 || parse_int(limit, 1, PAGE_MAX, &q->limit) != 0) /* too long or badly encoded, or not 1..max */
        return vg_fail(err, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to %d", PAGE_MAX);
    return VG_OK;
}

/* A page of the user's projects, newest first, with nextCursor (null on the last page). */
int api_projects_list(struct api_call *c)
{
    struct project_query q = {.user_id = c->user.id, .recent = PROJECT_RECENT};
    struct project_list l;
    struct vg_error err;
    char before[64];
    if (read_page_query(c, &q, before, &err) != VG_OK || store_project_list(c->t->store, &q, &l, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, view_project(&l.items[i]));
    json_t *next = l.more ? json_string(l.items[l.n - 1].project.id) : json_null();
    project_list_free(&l);
    return api_ok(c, json_pack("{s:o, s:o}", "projects", items, "nextCursor", next));
}

int api_projects_create(struct api_call *c)
{
    struct vg_error err = {0};
    struct project p;
    const char *name = NULL, *description = NULL;
    json_t *body;
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *n = json_object_get(body, "name"), *d = json_object_get(body, "description");
    if (n == NULL)
        vg_fail(&err, VG_ERR_INVALID, "name", "name is required");
    else if (check_name(n, &name, &err) == VG_OK && d != NULL)
        check_description(d, &description, &err);
    if (err.code == VG_OK)
        store_project_create(c->t->store, c->user.id, name, description, &p, &err);
    json_decref(body); /* name and description were copied by the store */
    if (err.code != VG_OK)
        return api_fail(c, &err);
    struct project_summary fresh = {.project = p}; /* borrows p; a new project has no generations */
    int rc = reply_summary(c, 201, &fresh);
    project_free(&p);
    return rc;
}

int api_projects_get(struct api_call *c)
{
    return reply_project(c, 200, api_param(c, "id"));
}

int api_projects_update(struct api_call *c)
{
    struct vg_error err = {0};
    struct project p;
    const char *name = NULL, *description = NULL;
    json_t *body, *n, *d;
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    n = json_object_get(body, "name");
    d = json_object_get(body, "description");
    if (n == NULL && d == NULL)
        vg_fail(&err, VG_ERR_INVALID, "", "send name and/or description to change");
    if (err.code == VG_OK && n != NULL)
        check_name(n, &name, &err);
    if (err.code == VG_OK && d != NULL)
        check_description(d, &description, &err);
    if (err.code == VG_OK)
        store_project_update(c->t->store, c->user.id, api_param(c, "id"), name, description, d != NULL, &p, &err);
    json_decref(body);
    if (err.code != VG_OK)
        return api_fail(c, &err);
    project_free(&p); /* read again below, with its generations */
    return reply_project(c, 200, api_param(c, "id"));
}

/* Deleting a project deletes its generations (the store refuses while one runs) and their
 * files; the ledger keeps every charge and refund. */
int api_projects_delete(struct api_call *c)
{
    struct vg_error err;
    struct generation_list gens;
    const char *id = api_param(c, "id");
    if (store_generation_list(c->t->store, c->user.id, id, &gens, &err) != VG_OK)
        return api_fail(c, &err);
    if (store_project_delete(c->t->store, c->user.id, id, &err) != VG_OK) {
        generation_list_free(&gens);
        return api_fail(c, &err);
    }
    for (size_t i = 0; i < gens.n; i++)
        api_remove_files(c->t->api, c->t->store, &gens.items[i]);
    generation_list_free(&gens);
    return api_ok(c, NULL);
}
