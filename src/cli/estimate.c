/* vidgen estimate: the price of a generation, by the same code as POST /estimate-credits
 * (it needs no running server: pricing is a pure function of the catalog). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/handlers.h"
#include "cli/cli.h"
#include "core/gen_request.h"
#include "util/parse.h"

static const char usage[] =
    "usage: vidgen estimate --model ID [--resolution 720p|1080p|4K] [--duration S] [--aspect-ratio W:H]\n"
    "                       [--start-image] [--end-image] [--audio] [--enhance-prompt] [--json]\n";

/* Builds the same JSON body an API client would send. */
static json_t *args_to_body(int argc, char **argv, int *as_json)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},    {"resolution", required_argument, 0, 'r'},
        {"duration", required_argument, 0, 'd'}, {"aspect-ratio", required_argument, 0, 'a'},
        {"start-image", no_argument, 0, 's'},    {"end-image", no_argument, 0, 'e'},
        {"audio", no_argument, 0, 'u'},          {"enhance-prompt", no_argument, 0, 'p'},
        {"json", no_argument, 0, 'j'},           {0}};
    json_t *b = json_object();
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': json_object_set_new(b, "modelId", json_string(optarg)); break;
        case 'r': json_object_set_new(b, "resolution", json_string(optarg)); break;
        case 'a': json_object_set_new(b, "aspectRatio", json_string(optarg)); break;
        case 's': json_object_set_new(b, "startImagePath", json_string("(start image)")); break;
        case 'e': json_object_set_new(b, "endImagePath", json_string("(end image)")); break;
        case 'u': json_object_set_new(b, "generateAudio", json_true()); break;
        case 'p': json_object_set_new(b, "enhancePrompt", json_true()); break;
        case 'j': *as_json = 1; break;
        case 'd': {
            long long d; /* any whole number: its range is the model's, checked as the API does */
            if (parse_int64(optarg, LLONG_MIN, LLONG_MAX, &d) != 0) {
                json_decref(b);
                return NULL;
            }
            json_object_set_new(b, "duration", json_integer(d));
            break;
        }
        default: json_decref(b); return NULL;
        }
    }
    if (optind != argc) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static void print_table(const struct gen_request *r, const struct price *p)
{
    const struct {
        const char *name;
        long v;
    } rows[] = {{"base", p->base},     {"resolution", p->resolution}, {"duration", p->duration},
                {"images", p->images}, {"audio", p->audio},           {"enhancement", p->enhancement}};
    printf("%s (%s), %s, %d s, %s\n", r->model->name, r->model->id, resolution_name(r->resolution), r->duration,
           r->aspect_ratio);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].v != 0 || i == 0)
            printf("  %-12s %8ld\n", rows[i].name, rows[i].v);
    printf("  %-12s %8ld credits = Rp %ld\n", "total", p->total, p->total * PRICING_IDR_PER_CREDIT);
}

int cli_estimate(int argc, char **argv)
{
    struct config cfg;
    struct catalog catalog;
    struct gen_request r;
    struct vg_error err;
    struct price p;
    char msg[512];
    int as_json = 0, rc = 1;
    json_t *body = args_to_body(argc, argv, &as_json);
    if (body == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    if (cli_load_config(&cfg) != 0) {
        json_decref(body);
        return 1;
    }
    if (catalog_load(cfg.catalog_path, &catalog, msg, sizeof msg) != 0) {
        fprintf(stderr, "vidgen: %s\n", msg);
        json_decref(body);
        return 1;
    }
    if (gen_request_parse(&catalog, body, GEN_REQUEST_ESTIMATE, &r, &err) != VG_OK) {
        if (err.field[0])
            fprintf(stderr, "vidgen: %s (field %s)\n", err.message, err.field);
        else
            fprintf(stderr, "vidgen: %s\n", err.message);
    } else {
        gen_request_price(&r, &p);
        if (as_json) {
            char buf[2048];
            api_estimate_write(buf, sizeof buf, &r, &p); /* a few hundred bytes at most */
            puts(buf);
        } else
            print_table(&r, &p);
        rc = 0;
    }
    json_decref(body);
    catalog_free(&catalog);
    return rc;
}
