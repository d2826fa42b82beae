/* libFuzzer target: any bytes as a ModelsLab reply to a submit and to a fetch (the first two
 * bytes choose the HTTP status and the Retry-After header) and as a webhook body. No input
 * may crash a parser, and every reply must keep the invariants of fuzz_remote.h. */
#include "fuzz_remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_provider(&provider_modelslab, data, size);
    return 0;
}
