#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres.h"
#include "store/sqlite.h"

static struct store *open_store(const char *url, bool wait, char *err, size_t errlen)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return sqlite_store_open(url + 7, err, errlen);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return postgres_store_open(url, wait, err, errlen);
    snprintf(err, errlen, "DATABASE_URL: unknown database '%s'", url);
    return NULL;
}

struct store *store_open(const char *url, char *err, size_t errlen)
{
    return open_store(url, true, err, errlen);
}

struct store *store_try_open(const char *url, char *err, size_t errlen)
{
    return open_store(url, false, err, errlen);
}

void upload_free(struct upload *u)
{
    free(u->file_path);
    free(u->file_name);
    u->file_path = u->file_name = NULL;
}

void upload_list_free(struct upload_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        upload_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void project_free(struct project *p)
{
    free(p->name);
    free(p->description);
    p->name = p->description = NULL;
}

void project_list_free(struct project_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        project_free(&l->items[i].project);
        generation_list_free(&l->items[i].recent);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
    l->more = false;
}

void generation_free(struct generation *g)
{
    free(g->model_name), free(g->prompt), free(g->negative_prompt), free(g->start_image), free(g->end_image);
    free(g->error_message), free(g->output_path), free(g->thumbnail_path), free(g->provider_job_id);
    g->model_name = g->prompt = g->negative_prompt = g->start_image = g->end_image = NULL;
    g->error_message = g->output_path = g->thumbnail_path = g->provider_job_id = NULL;
}

void generation_list_free(struct generation_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        generation_free(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void attempt_list_free(struct attempt_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].provider_job_id);
        free(l->items[i].error);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void job_news_list_free(struct job_news_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void ledger_list_free(struct ledger_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

const char *ledger_kind_name(enum ledger_kind k)
{
    static const char *names[] = {"grant", "charge", "refund", "adjust"};
    return (unsigned)k < 4 ? names[k] : "adjust";
}
