/* libFuzzer target: any bytes as a Runway reply to a submit and to a poll (the first two
 * bytes choose the HTTP status and the Retry-After header). No input may crash a parser, and every reply must keep the
 * invariants of fuzz_remote.h. */
#include "fuzz_remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_provider(&provider_runway, data, size);
    return 0;
}
