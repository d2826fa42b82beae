#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "metrics/metrics.h"
#include "store/store.h"

int cli_load_config(struct config *cfg)
{
    char err[512];
    if (config_load(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "vidgen: configuration: %s\n", err);
        return -1;
    }
    log_set_level(cfg->log_level);
    log_set_format(cfg->log_format);
    metrics_set_enabled(cfg->metrics);
    return 0;
}

int cli_make_dirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct store *cli_open_store(struct config *cfg)
{
    char err[512];
    struct vg_error verr;
    if (cli_make_dirs(cfg->data_dir) != 0) {
        fprintf(stderr, "vidgen: cannot create data directory %s: %s\n", cfg->data_dir, strerror(errno));
        return NULL;
    }
    struct store *s = store_open(cfg->database_url, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "vidgen: %s\n", err);
        return NULL;
    }
    if (store_migrate(s, NULL, &verr) != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", verr.message);
        store_close(s);
        return NULL;
    }
    return s;
}
