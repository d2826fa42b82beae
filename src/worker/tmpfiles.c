#include "worker/tmpfiles.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/id.h"
#include "util/log.h"
#include "worker/owner.h"

/* Whatever its name says, a file this old is no live job's: a job's deadline is far
 * shorter (and a writer touches its file all the time). Catches what the names cannot,
 * such as a dead worker's pid now used by an unrelated process. */
#define STALE_TMP_SECONDS (60 * 60)

int tmpfiles_path(char *out, size_t cap, const char *data_dir, const char *gen_id, const char *lease_token,
                  const char *ext)
{
    int n = snprintf(out, cap, "%s/tmp/%s.%s.%s", data_dir, gen_id, lease_token, ext);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Reads "<generation id>.<lease token>.<ext>" (the token may hold dots: a host name);
 * -1 for any other name. */
static int parse_name(const char *name, char id[ID_LEN + 1], char token[STORE_LEASE_OWNER_MAX + 1])
{
    const char *ext = strrchr(name, '.');
    size_t len = ext ? (size_t)(ext - name) : 0;
    if (len <= ID_LEN + 1 || name[ID_LEN] != '.' || len - ID_LEN - 1 > STORE_LEASE_OWNER_MAX)
        return -1;
    memcpy(id, name, ID_LEN);
    id[ID_LEN] = '\0';
    memcpy(token, name + ID_LEN + 1, len - ID_LEN - 1);
    token[len - ID_LEN - 1] = '\0';
    return id_valid(id) ? 0 : -1;
}

bool tmpfiles_in_use(const char *file_token, const struct job_lease *lease, int64_t now_ms, const char *host,
                     pid_t self, bool (*alive)(pid_t pid))
{
    char owner_host[OWNER_HOST_MAX + 1];
    pid_t owner_pid;
    if (lease == NULL || strcmp(lease->owner, file_token) != 0 ||
        owner_parse(lease->owner, owner_host, &owner_pid) != 0)
        return false; /* nobody holds the job, or not the claim that wrote this */
    if (strcmp(owner_host, host) == 0)
        return owner_pid != self && alive(owner_pid);
    return lease->until >= now_ms;
}

static bool process_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

/* Whether `name` (a file of the tmp directory) may go; when unsure, it stays. */
static bool removable(struct store *s, const char *name, const char *host)
{
    char id[ID_LEN + 1], token[STORE_LEASE_OWNER_MAX + 1];
    struct job_lease lease;
    struct vg_error err;
    if (parse_name(name, id, token) != 0)
        return false;
    enum vg_err e = store_job_lease(s, id, &lease, &err);
    if (e != VG_OK && e != VG_ERR_NOT_FOUND) {
        log_warn("worker: cannot tell whether %s is in use: %s", name, err.message);
        return false;
    }
    return !tmpfiles_in_use(token, e == VG_OK ? &lease : NULL, clock_now_ms(), host, getpid(), process_alive);
}

void tmpfiles_clean(const char *data_dir, struct store *s)
{
    char dir[1100], path[1400], host[OWNER_HOST_MAX + 1];
    struct stat st;
    struct dirent *e;
    snprintf(dir, sizeof dir, "%s/tmp", data_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    owner_host(host);
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if ((now - st.st_mtime > STALE_TMP_SECONDS || removable(s, e->d_name, host)) && unlink(path) == 0)
            log_info("worker: removed %s, left by a worker that stopped", path);
    }
    closedir(d);
}
