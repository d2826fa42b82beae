#include "core/catalog.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/embedded.h"

#define CATALOG_FILE_MAX (16 << 20) /* bytes; a catalog is a few kilobytes */

static const char *const res_names[RES_COUNT] = {"720p", "1080p", "4K"};

const char *resolution_name(enum resolution r)
{
    return (unsigned)r < RES_COUNT ? res_names[r] : "?";
}

bool resolution_parse(const char *s, enum resolution *out)
{
    for (int r = 0; r < RES_COUNT; r++)
        if (strcmp(s, res_names[r]) == 0) {
            *out = (enum resolution)r;
            return true;
        }
    return false;
}

/* Parsing context: the model being read, for error messages. */
struct parse {
    const char *model;
    char *err;
    size_t errlen;
};

static int fail(struct parse *p, const char *field, const char *what)
{
    snprintf(p->err, p->errlen, "catalog: model %s: %s %s", p->model, field, what);
    return -1;
}

static int get_string(struct parse *p, json_t *obj, const char *key, bool required, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        dst[0] = '\0';
        return required ? fail(p, key, "is missing") : 0;
    }
    if (!json_is_string(v))
        return fail(p, key, "must be a string");
    if (json_string_length(v) >= cap || (required && json_string_length(v) == 0))
        return fail(p, key, "is empty or too long");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_int(struct parse *p, json_t *obj, const char *key, long min, long max, long dflt, long *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (dflt < min)
            return fail(p, key, "is missing");
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(p, key, "must be a whole number in range");
    *out = (long)json_integer_value(v);
    return 0;
}

static int get_bool(struct parse *p, json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = false;
        return 0;
    }
    if (!json_is_boolean(v))
        return fail(p, key, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int get_resolutions(struct parse *p, json_t *obj, const char *key, bool required, unsigned *mask)
{
    json_t *arr = json_object_get(obj, key), *v;
    size_t i;
    *mask = 0;
    if (arr == NULL && !required)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(p, key, "must be a non-empty array");
    json_array_foreach(arr, i, v)
    {
        enum resolution r;
        if (!json_is_string(v) || !resolution_parse(json_string_value(v), &r))
            return fail(p, key, "holds an unknown resolution (720p, 1080p, 4K)");
        *mask |= 1u << r;
    }
    return 0;
}

/* "W:H" with two positive whole numbers. */
static bool aspect_valid(const char *s)
{
    unsigned w, h;
    char tail;
    return sscanf(s, "%u:%u%c", &w, &h, &tail) == 2 && w > 0 && h > 0 && w <= 64 && h <= 64;
}

static int get_aspects(struct parse *p, json_t *obj, struct catalog_model *m)
{
    json_t *arr = json_object_get(obj, "aspectRatios"), *v;
    size_t i;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > CATALOG_MAX_ASPECTS)
        return fail(p, "aspectRatios", "must be an array of 1 to 8 ratios");
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) >= sizeof m->aspect_ratios[0] ||
            !aspect_valid(json_string_value(v)))
            return fail(p, "aspectRatios", "holds a ratio not of the form W:H");
        strcpy(m->aspect_ratios[i], json_string_value(v));
    }
    m->n_aspect_ratios = (int)json_array_size(arr);
    return 0;
}

static int get_durations(struct parse *p, json_t *obj, struct catalog_model *m)
{
    json_t *arr = json_object_get(obj, "durations"), *v;
    size_t i;
    m->n_durations = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > CATALOG_MAX_DURATIONS)
        return fail(p, "durations", "must be an array of 1 to 16 whole seconds");
    json_array_foreach(arr, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < m->min_duration || json_integer_value(v) > m->max_duration)
            return fail(p, "durations", "holds a value outside minDuration..maxDuration");
        m->durations[i] = (int)json_integer_value(v);
    }
    m->n_durations = (int)json_array_size(arr);
    return 0;
}

static int get_routes(struct parse *p, json_t *obj, struct catalog_model *m)
{
    json_t *arr = json_object_get(obj, "route"), *v;
    size_t i;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > CATALOG_MAX_ROUTES)
        return fail(p, "route", "must be an array of 1 to 4 entries");
    json_array_foreach(arr, i, v)
    {
        struct catalog_route *r = &m->routes[i];
        if (!json_is_object(v))
            return fail(p, "route", "entries must be objects");
        if (get_string(p, v, "provider", true, r->provider, sizeof r->provider) ||
            get_string(p, v, "model", true, r->model, sizeof r->model) ||
            get_string(p, v, "endpoint", false, r->endpoint, sizeof r->endpoint) ||
            get_string(p, v, "imageModel", false, r->image_model, sizeof r->image_model) ||
            get_string(p, v, "imageEndpoint", false, r->image_endpoint, sizeof r->image_endpoint))
            return -1;
        /* A job names its route by its provider (generations.provider): one route each. */
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->routes[k].provider, r->provider) == 0)
                return fail(p, "route", "names a provider twice: one route per provider");
    }
    m->n_routes = (int)json_array_size(arr);
    return 0;
}

static int parse_model(struct parse *p, json_t *obj, struct catalog_model *m)
{
    long def, min, max, base, plen, wait;
    if (get_string(p, obj, "name", true, m->name, sizeof m->name) ||
        get_string(p, obj, "description", true, m->description, sizeof m->description) ||
        get_int(p, obj, "minDuration", 1, 600, 1, &min) || get_int(p, obj, "maxDuration", min, 600, -1, &max) ||
        get_int(p, obj, "defaultDuration", min, max, -1, &def) ||
        get_int(p, obj, "baseCredits", 1, 100000000, -1, &base) ||
        get_int(p, obj, "maxPromptLength", 1, 100000, 2000, &plen) ||
        get_int(p, obj, "maxWaitSeconds", 5, 24 * 3600, 3600, &wait))
        return -1;
    m->min_duration = (int)min, m->max_duration = (int)max, m->default_duration = (int)def;
    m->base_credits = base, m->max_prompt_length = (int)plen, m->max_wait_seconds = (int)wait;
    if (get_durations(p, obj, m) || get_aspects(p, obj, m) || get_routes(p, obj, m) ||
        get_resolutions(p, obj, "resolutions", true, &m->resolutions) ||
        get_resolutions(p, obj, "endImageResolutions", false, &m->end_image_resolutions) ||
        get_bool(p, obj, "supportsTextToVideo", &m->text_to_video) ||
        get_bool(p, obj, "supportsImageToVideo", &m->image_to_video) ||
        get_bool(p, obj, "supportsEndImage", &m->end_image) ||
        get_bool(p, obj, "supportsNegativePrompt", &m->negative_prompt) ||
        get_bool(p, obj, "supportsAudioGeneration", &m->audio) ||
        get_bool(p, obj, "supportsPromptEnhancement", &m->prompt_enhancement))
        return -1;
    if (!catalog_allows_duration(m, m->default_duration))
        return fail(p, "defaultDuration", "is not one of the allowed durations");
    if (!(m->resolutions & (1u << RES_720P)))
        return fail(p, "resolutions", "must include 720p (base credits are priced at 720p)");
    if (!m->text_to_video && !m->image_to_video)
        return fail(p, "supportsTextToVideo", "and supportsImageToVideo cannot both be false");
    if (m->end_image && !m->image_to_video)
        return fail(p, "supportsEndImage", "needs supportsImageToVideo");
    return 0;
}

int catalog_parse(const char *text, size_t len, struct catalog *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr), *arr, *v;
    struct parse p = {.model = "?", .err = err, .errlen = errlen};
    struct catalog_model *models = NULL;
    size_t i;
    int rc = -1;

    if (root == NULL) {
        snprintf(err, errlen, "catalog: invalid JSON at line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    arr = json_object_get(root, "models");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(err, errlen, "catalog: \"models\" must be a non-empty array");
        goto done;
    }
    models = calloc(json_array_size(arr), sizeof *models);
    if (models == NULL)
        goto done;
    json_array_foreach(arr, i, v)
    {
        struct catalog_model *m = &models[i];
        if (!json_is_object(v)) {
            snprintf(err, errlen, "catalog: models[%zu] is not an object", i);
            goto done;
        }
        if (get_string(&p, v, "id", true, m->id, sizeof m->id))
            goto done;
        p.model = m->id;
        for (size_t j = 0; j < i; j++)
            if (strcmp(models[j].id, m->id) == 0) {
                fail(&p, "id", "appears twice");
                goto done;
            }
        if (parse_model(&p, v, m))
            goto done;
    }
    out->models = models, out->n = json_array_size(arr);
    models = NULL;
    rc = 0;
done:
    free(models);
    json_decref(root);
    return rc;
}

/* Reads a whole file of at most CATALOG_FILE_MAX bytes into *text (the caller frees).
 * -1 with the reason in `err`. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return snprintf(err, errlen, "cannot open it: %s", strerror(errno)), -1;
    char *buf = malloc(CATALOG_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, CATALOG_FILE_MAX + 1, fp) : 0;
    int rc = -1;
    if (buf == NULL)
        snprintf(err, errlen, "out of memory");
    else if (ferror(fp))
        snprintf(err, errlen, "cannot read it: %s", strerror(errno));
    else if (n > CATALOG_FILE_MAX)
        snprintf(err, errlen, "it is larger than %d bytes", CATALOG_FILE_MAX);
    else
        *text = buf, *len = n, rc = 0;
    if (rc != 0)
        free(buf);
    fclose(fp);
    return rc;
}

int catalog_load(const char *path, struct catalog *out, char *err, size_t errlen)
{
    char why[400], *text;
    size_t len;
    if (path == NULL || path[0] == '\0') {
        const struct embedded_file *f = embedded_find("config/catalog.json");
        if (f == NULL) {
            snprintf(err, errlen, "catalog: no embedded catalog in this build");
            return -1;
        }
        return catalog_parse(f->data, f->len, out, err, errlen);
    }
    if (read_file(path, &text, &len, why, sizeof why) != 0)
        return snprintf(err, errlen, "catalog %s: %s", path, why), -1;
    int rc = catalog_parse(text, len, out, why, sizeof why);
    free(text);
    if (rc != 0) /* the file's name in place of parse's "catalog:" prefix */
        snprintf(err, errlen, "catalog %s: %s", path, strncmp(why, "catalog: ", 9) == 0 ? why + 9 : why);
    return rc;
}

const struct catalog_model *catalog_find(const struct catalog *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->models[i].id, id) == 0)
            return &c->models[i];
    return NULL;
}

bool catalog_allows_duration(const struct catalog_model *m, int seconds)
{
    if (seconds < m->min_duration || seconds > m->max_duration)
        return false;
    if (m->n_durations == 0)
        return true;
    for (int i = 0; i < m->n_durations; i++)
        if (m->durations[i] == seconds)
            return true;
    return false;
}

bool catalog_allows_aspect(const struct catalog_model *m, const char *aspect)
{
    for (int i = 0; i < m->n_aspect_ratios; i++)
        if (strcmp(m->aspect_ratios[i], aspect) == 0)
            return true;
    return false;
}

void catalog_free(struct catalog *c)
{
    free(c->models);
    c->models = NULL;
    c->n = 0;
}
