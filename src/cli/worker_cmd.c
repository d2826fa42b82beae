/* vidgen worker, and the worker that vidgen serve embeds. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "events/bus.h"
#include "events/generation.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/allocator.h"
#include "util/log.h"
#include "worker/worker.h"

#define MAX_ATTEMPTS 5

void cli_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

struct worker *cli_start_worker(const struct config *cfg, struct queue *queue,
                                void (*on_change)(const struct generation *g, void *arg), void *arg)
{
    char err[512];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct worker_config wc = {
        .cfg = cfg,
        .queue = queue,
        .cpu_threads = cfg->render_threads > 0 ? cfg->render_threads : (cores > 0 ? (int)cores : 1),
        .lease_ms = (int64_t)cfg->lease_seconds * 1000,
        .max_attempts = MAX_ATTEMPTS,
        .on_change = on_change,
        .arg = arg,
    };
    struct worker *w = worker_start(&wc, err, sizeof err);
    if (w == NULL)
        fprintf(stderr, "vidgen: worker: %s\n", err);
    return w;
}

/* A standalone worker's changes go to the event streams of every server through the bus
 * (with Redis; without it there is no server in this process to reach). */
static void on_change(const struct generation *g, void *bus)
{
    events_publish_generation(bus, g);
}

int cli_worker(int argc, char **argv)
{
    struct config cfg;
    sigset_t set;
    char err[512];
    int sig, rc = 1;
    struct queue *queue = NULL;
    struct events_bus *bus = NULL;
    struct worker *w = NULL;
    if (argc != 1) {
        fprintf(stderr, "usage: vidgen worker   (takes no arguments; got '%s')\n", argv[1]);
        return 2;
    }
    cli_block_signals(&set); /* before any thread starts, so only sigwait sees them */
    if (cli_load_config(&cfg) != 0)
        return 1;
    log_info("vidgen: memory allocator: %s", allocator_name());
    struct store *s = cli_open_store(&cfg);
    if (s == NULL)
        return 1;
    store_close(s);
    /* With REDIS_URL, pushes from every server wake this worker and its changes reach every
     * server's streams; without it, it learns of new generations by sweeping the store. */
    if (cfg.redis_url[0] != '\0') {
        if ((queue = queue_open(cfg.redis_url, err, sizeof err)) == NULL) {
            fprintf(stderr, "vidgen: %s\n", err);
            goto done;
        }
        if ((bus = events_bus_open(cfg.redis_url, false)) == NULL) {
            fprintf(stderr, "vidgen: cannot open the events bus (see the log)\n");
            goto done;
        }
    }
    if ((w = cli_start_worker(&cfg, queue, bus ? on_change : NULL, bus)) == NULL)
        goto done;
    sigwait(&set, &sig);
    log_info("worker: %s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    worker_stop(w); /* stops claiming, hands back or ends its leases, joins */
    rc = 0;
done:
    events_bus_free(bus); /* after the worker: its last changes are sent first */
    queue_close(queue);
    return rc;
}
