/* GET /credits: the caller's balance. */
#include "api/handlers.h"
#include "core/pricing.h"

int api_credits_balance(struct api_call *c)
{
    return api_ok(c, json_pack("{s:I, s:I}", "balance", (json_int_t)c->user.balance, "idr",
                               (json_int_t)(c->user.balance * PRICING_IDR_PER_CREDIT)));
}
