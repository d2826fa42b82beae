/* The model catalog: every model a user can pick, its limits, base credits and route.
 *
 * It is data (config/catalog.json, compiled into the binary; VIDGEN_CATALOG points at
 * another file), so adding a model of an existing provider changes no code. A model is not
 * a provider: its route lists the provider(s) that serve it, in the order to try them. */
#ifndef VIDGEN_CORE_CATALOG_H
#define VIDGEN_CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum resolution { RES_720P, RES_1080P, RES_4K, RES_COUNT };

/* "720p", "1080p", "4K" (static strings). */
const char *resolution_name(enum resolution r);
/* Parses the names above; false for anything else. */
bool resolution_parse(const char *s, enum resolution *out);

#define CATALOG_MAX_ASPECTS 8
#define CATALOG_MAX_DURATIONS 16
#define CATALOG_MAX_ROUTES 4

/* Where a model is served: the provider's own model string and endpoint. */
struct catalog_route {
    char provider[32];        /* registry name: "modelslab", "edenai", "local", … */
    char model[96];           /* the provider's model string */
    char endpoint[128];       /* text-to-video path on the provider's base URL */
    char image_model[96];     /* image-to-video model string ("" = same as model) */
    char image_endpoint[128]; /* image-to-video path ("" = same as endpoint) */
};

struct catalog_model {
    char id[48];
    char name[96];
    char description[512];
    int default_duration, min_duration, max_duration; /* seconds */
    int durations[CATALOG_MAX_DURATIONS];             /* allowed values; n_durations 0 = any in range */
    int n_durations;
    unsigned resolutions;                       /* bit (1u << enum resolution) per allowed resolution */
    unsigned end_image_resolutions;             /* where an end image is allowed; 0 = wherever resolutions allow */
    char aspect_ratios[CATALOG_MAX_ASPECTS][8]; /* first one is the default */
    int n_aspect_ratios;
    bool text_to_video, image_to_video, end_image;
    bool negative_prompt, audio, prompt_enhancement;
    int max_prompt_length; /* characters (code points) */
    int max_wait_seconds;  /* how long a provider may take to deliver a clip (maxWaitSeconds, default 3600) */
    long base_credits;     /* at default_duration and 720p */
    struct catalog_route routes[CATALOG_MAX_ROUTES];
    int n_routes; /* >= 1 */
};

struct catalog {
    struct catalog_model *models; /* owned; catalog_free() releases */
    size_t n;
};

/* Parses and checks a catalog (JSON text, `len` bytes). Every field is validated; on error
 * returns -1 with a message naming the model and field in `err`, and `out` is untouched. */
int catalog_parse(const char *text, size_t len, struct catalog *out, char *err, size_t errlen);

/* Loads from `path`, or from the embedded config/catalog.json when path is NULL or "".
 * On error returns -1 with a message in `err` that names the file and the problem (cannot
 * open it and why, invalid JSON and where, or the model and field at fault). */
int catalog_load(const char *path, struct catalog *out, char *err, size_t errlen);

/* The model with this id, or NULL. The pointer lives as long as the catalog. */
const struct catalog_model *catalog_find(const struct catalog *c, const char *id);

bool catalog_allows_duration(const struct catalog_model *m, int seconds);
bool catalog_allows_aspect(const struct catalog_model *m, const char *aspect);

void catalog_free(struct catalog *c);

#endif
