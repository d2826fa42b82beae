/* Projects: list, create, get, rename/describe, delete. Always scoped to the caller: a
 * project of another user is 404, never 403, so ids reveal nothing. */
#include "api/handlers.h"
#include "api/views.h"
#include "core/text.h"

#define PROJECT_NAME_MAX 100         /* characters */
#define PROJECT_DESCRIPTION_MAX 2000 /* characters */

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

/* Sends one project with its generations. Takes ownership of `p`. */
static int reply_project(struct api_call *c, int status, struct project *p)
{
    struct generation_list gens;
    struct vg_error err;
    if (store_generation_list(c->t->store, c->user.id, p->id, &gens, &err) != VG_OK) {
        project_free(p);
        return api_fail(c, &err);
    }
    json_t *body = json_pack("{s:b, s:o}", "success", 1, "project", view_project(p, &gens));
    generation_list_free(&gens);
    project_free(p);
    return api_reply(c, status, body);
}

int api_projects_list(struct api_call *c)
{
    struct project_list projects;
    struct generation_list gens;
    struct vg_error err;
    if (store_project_list(c->t->store, c->user.id, &projects, &err) != VG_OK)
        return api_fail(c, &err);
    /* One query for all generations, grouped below, rather than one per project. */
    if (store_generation_list(c->t->store, c->user.id, NULL, &gens, &err) != VG_OK) {
        project_list_free(&projects);
        return api_fail(c, &err);
    }
    json_t *list = json_array();
    for (size_t i = 0; i < projects.n; i++)
        json_array_append_new(list, view_project(&projects.items[i], &gens));
    generation_list_free(&gens);
    project_list_free(&projects);
    return api_ok(c, json_pack("{s:o}", "projects", list));
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
    return reply_project(c, 201, &p);
}

int api_projects_get(struct api_call *c)
{
    struct vg_error err;
    struct project p;
    if (store_project_get(c->t->store, c->user.id, api_param(c, "id"), &p, &err) != VG_OK)
        return api_fail(c, &err);
    return reply_project(c, 200, &p);
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
    return reply_project(c, 200, &p);
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
        api_remove_files(c->t->api, &gens.items[i]);
    generation_list_free(&gens);
    return api_ok(c, NULL);
}
