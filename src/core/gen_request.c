#include "core/gen_request.h"

#include <string.h>

#include "core/text.h"

/* Optional string field: absent or null gives NULL; anything but a string is 422. */
static enum vg_err opt_string(json_t *body, const char *key, const char **out, struct vg_error *err)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return VG_OK;
    if (!json_is_string(v))
        return vg_fail(err, VG_ERR_INVALID, key, "%s must be a string", key);
    *out = json_string_value(v);
    return VG_OK;
}

static enum vg_err opt_bool(json_t *body, const char *key, bool *out, struct vg_error *err)
{
    json_t *v = json_object_get(body, key);
    *out = false;
    if (v == NULL || json_is_null(v))
        return VG_OK;
    if (!json_is_boolean(v))
        return vg_fail(err, VG_ERR_INVALID, key, "%s must be true or false", key);
    *out = json_is_true(v);
    return VG_OK;
}

static bool has_start(const struct gen_request *r)
{
    return r->start_image != NULL || r->start_image_id != NULL;
}

static bool has_end(const struct gen_request *r)
{
    return r->end_image != NULL || r->end_image_id != NULL;
}

/* An empty string for an optional image or negative prompt means "none". */
static const char *none_if_empty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static enum vg_err read_fields(json_t *body, struct gen_request *r, struct vg_error *err)
{
    const char *res;
    json_t *d = json_object_get(body, "duration");
    enum vg_err e;

    if ((e = opt_string(body, "projectId", &r->project_id, err)) || (e = opt_string(body, "prompt", &r->prompt, err)) ||
        (e = opt_string(body, "negativePrompt", &r->negative_prompt, err)) ||
        (e = opt_string(body, "startImagePath", &r->start_image, err)) ||
        (e = opt_string(body, "endImagePath", &r->end_image, err)) ||
        (e = opt_string(body, "startImageId", &r->start_image_id, err)) ||
        (e = opt_string(body, "endImageId", &r->end_image_id, err)) ||
        (e = opt_string(body, "aspectRatio", &r->aspect_ratio, err)) ||
        (e = opt_string(body, "resolution", &res, err)) || (e = opt_bool(body, "generateAudio", &r->audio, err)) ||
        (e = opt_bool(body, "enhancePrompt", &r->enhance_prompt, err)))
        return e;
    r->negative_prompt = none_if_empty(r->negative_prompt);
    r->start_image = none_if_empty(r->start_image);
    r->end_image = none_if_empty(r->end_image);
    r->start_image_id = none_if_empty(r->start_image_id);
    r->end_image_id = none_if_empty(r->end_image_id);
    if (r->start_image && r->start_image_id)
        return vg_fail(err, VG_ERR_INVALID, "startImageId", "give startImagePath or startImageId, not both");
    if (r->end_image && r->end_image_id)
        return vg_fail(err, VG_ERR_INVALID, "endImageId", "give endImagePath or endImageId, not both");
    r->start_field = r->start_image_id ? "startImageId" : "startImagePath";
    r->end_field = r->end_image_id ? "endImageId" : "endImagePath";

    r->resolution = RES_720P;
    if (res != NULL && !resolution_parse(res, &r->resolution))
        return vg_fail(err, VG_ERR_INVALID, "resolution", "resolution must be one of 720p, 1080p, 4K");

    r->duration = r->model->default_duration;
    if (d != NULL && !json_is_null(d)) {
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 3600)
            return vg_fail(err, VG_ERR_INVALID, "duration", "duration must be a whole number of seconds");
        r->duration = (int)json_integer_value(d);
    }
    if (r->aspect_ratio == NULL)
        r->aspect_ratio = r->model->aspect_ratios[0];
    return VG_OK;
}

static enum vg_err check_prompt(const struct gen_request *r, enum gen_request_mode mode, struct vg_error *err)
{
    const struct catalog_model *m = r->model;
    if (r->prompt == NULL || text_is_blank(r->prompt)) {
        if (mode == GEN_REQUEST_GENERATE && (m->text_to_video || !has_start(r)))
            return vg_fail(err, VG_ERR_INVALID, "prompt", "prompt is required");
        return VG_OK;
    }
    if (text_length(r->prompt) > (size_t)m->max_prompt_length)
        return vg_fail(err, VG_ERR_INVALID, "prompt", "prompt is longer than %d characters, the limit of %s",
                       m->max_prompt_length, m->id);
    return VG_OK;
}

/* Checks every option against the model's limits, naming the first field at fault. */
static enum vg_err check_limits(const struct gen_request *r, struct vg_error *err)
{
    const struct catalog_model *m = r->model;
    if (!(m->resolutions & (1u << r->resolution)))
        return vg_fail(err, VG_ERR_INVALID, "resolution", "%s does not offer %s", m->id,
                       resolution_name(r->resolution));
    if (!catalog_allows_duration(m, r->duration)) {
        if (m->n_durations > 0)
            return vg_fail(err, VG_ERR_INVALID, "duration",
                           "%s makes clips of %d to %d seconds in fixed steps; %d is not one", m->id, m->min_duration,
                           m->max_duration, r->duration);
        return vg_fail(err, VG_ERR_INVALID, "duration", "%s makes clips of %d to %d seconds", m->id, m->min_duration,
                       m->max_duration);
    }
    if (!catalog_allows_aspect(m, r->aspect_ratio))
        return vg_fail(err, VG_ERR_INVALID, "aspectRatio", "%s does not offer aspect ratio %s", m->id, r->aspect_ratio);
    if (has_start(r) && !m->image_to_video)
        return vg_fail(err, VG_ERR_INVALID, r->start_field, "%s does not take a start image", m->id);
    if (has_end(r) && !m->end_image)
        return vg_fail(err, VG_ERR_INVALID, r->end_field, "%s does not take an end image", m->id);
    if (has_end(r) && m->end_image_resolutions && !(m->end_image_resolutions & (1u << r->resolution)))
        return vg_fail(err, VG_ERR_INVALID, r->end_field, "%s takes an end image only at a higher resolution than %s",
                       m->id, resolution_name(r->resolution));
    if (!has_start(r) && !m->text_to_video)
        return vg_fail(err, VG_ERR_INVALID, r->start_field, "%s needs a start image", m->id);
    if (r->negative_prompt && !m->negative_prompt)
        return vg_fail(err, VG_ERR_INVALID, "negativePrompt", "%s does not take a negative prompt", m->id);
    if (r->audio && !m->audio)
        return vg_fail(err, VG_ERR_INVALID, "generateAudio", "%s does not generate audio", m->id);
    if (r->enhance_prompt && !m->prompt_enhancement)
        return vg_fail(err, VG_ERR_INVALID, "enhancePrompt", "%s does not offer prompt enhancement", m->id);
    return VG_OK;
}

enum vg_err gen_request_parse(const struct catalog *catalog, json_t *body, enum gen_request_mode mode,
                              struct gen_request *out, struct vg_error *err)
{
    const char *model_id;
    enum vg_err e;

    memset(out, 0, sizeof *out);
    if (!json_is_object(body))
        return vg_fail(err, VG_ERR_BAD_REQUEST, "", "the request body must be a JSON object");
    if ((e = opt_string(body, "modelId", &model_id, err)))
        return e;
    if (model_id == NULL || model_id[0] == '\0')
        return vg_fail(err, VG_ERR_INVALID, "modelId", "modelId is required");
    if ((out->model = catalog_find(catalog, model_id)) == NULL)
        return vg_fail(err, VG_ERR_NOT_FOUND, "modelId", "no model named '%.64s'; GET /models lists them", model_id);
    if ((e = read_fields(body, out, err)))
        return e;
    if (mode == GEN_REQUEST_GENERATE && (out->project_id == NULL || out->project_id[0] == '\0'))
        return vg_fail(err, VG_ERR_INVALID, "projectId", "projectId is required");
    if ((e = check_limits(out, err)))
        return e;
    return check_prompt(out, mode, err);
}

void gen_request_price(const struct gen_request *r, struct price *out)
{
    struct price_options o = {
        .resolution = r->resolution,
        .duration = r->duration,
        .start_image = has_start(r),
        .end_image = has_end(r),
        .audio = r->audio,
        .enhance_prompt = r->enhance_prompt,
    };
    pricing_compute(r->model->base_credits, r->model->default_duration, &o, out);
}
