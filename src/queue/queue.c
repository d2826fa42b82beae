#include "queue/queue.h"

struct queue *queue_open(const char *redis_url, char *err, size_t errlen)
{
    if (redis_url != NULL && redis_url[0] != '\0')
        return queue_redis_open(redis_url, err, errlen);
    return queue_local_open(err, errlen);
}
