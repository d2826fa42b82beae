/* Credits: the caller's balance and the ledger of every charge, refund and grant. */
#include <limits.h>

#include "api/handlers.h"
#include "core/pricing.h"
#include "util/parse.h"

#define LEDGER_PAGE_DEFAULT 50
#define LEDGER_PAGE_MAX 200

int api_credits_balance(struct api_call *c)
{
    return api_ok(c, json_pack("{s:I, s:I}", "balance", (json_int_t)c->user.balance, "idr",
                               (json_int_t)(c->user.balance * PRICING_IDR_PER_CREDIT)));
}

/* A whole-number query parameter in [min, max] (min >= 0), or `dflt` when absent; -1 when
 * invalid. */
static long long query_number(struct api_call *c, const char *name, long long min, long long max, long long dflt)
{
    char buf[32];
    long long v;
    int n = api_query(c, name, buf, sizeof buf);
    if (n == 0)
        return dflt;
    return n > 0 && parse_int64(buf, min, max, &v) == 0 ? v : -1;
}

int api_credits_ledger(struct api_call *c)
{
    struct ledger_list list;
    struct vg_error err;
    long long limit = query_number(c, "limit", 1, LEDGER_PAGE_MAX, LEDGER_PAGE_DEFAULT);
    long long before = query_number(c, "before", 1, LONG_MAX, 0);
    if (limit < 0)
        return api_fail_with(c, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to 200");
    if (before < 0)
        return api_fail_with(c, VG_ERR_INVALID, "before", "before must be a ledger entry id (nextCursor)");
    if (store_ledger_page(c->t->store, c->user.id, before, (int)limit, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++) {
        const struct ledger_entry *l = &list.items[i];
        json_array_append_new(items, json_pack("{s:I, s:s, s:I, s:I, s:o, s:s, s:o}", "id", (json_int_t)l->id, "kind",
                                               l->kind, "amount", (json_int_t)l->amount, "balanceAfter",
                                               (json_int_t)l->balance_after, "generationId",
                                               l->generation_id[0] ? json_string(l->generation_id) : json_null(),
                                               "note", l->note, "createdAt", api_time(l->created_at)));
    }
    json_t *next = list.n == (size_t)limit ? json_integer(list.items[list.n - 1].id) : json_null();
    ledger_list_free(&list);
    return api_ok(
        c, json_pack("{s:I, s:o, s:o}", "balance", (json_int_t)c->user.balance, "entries", items, "nextCursor", next));
}
