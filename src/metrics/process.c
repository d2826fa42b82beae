#include "metrics/process.h"

#include <dirent.h>
#include <h2o/version.h>
#include <jansson.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* When the process started: taken by the first scrape's clock minus the process's age is
 * not exact, so it is the moment this file's constructor ran, at load. */
static double started_at;

__attribute__((constructor)) static void note_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    started_at = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long resident_bytes(void)
{
    long size = 0, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

void metrics_process_write(FILE *out)
{
    struct rlimit rl;
    long max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : -1;
    long rss = resident_bytes(), fds = open_fds();
    fputs("# HELP vidgen_process_resident_memory_bytes Resident memory of this process.\n"
          "# TYPE vidgen_process_resident_memory_bytes gauge\n",
          out);
    if (rss >= 0)
        fprintf(out, "vidgen_process_resident_memory_bytes %ld\n", rss);
    fputs("# HELP vidgen_process_open_fds Open file descriptors.\n# TYPE vidgen_process_open_fds gauge\n", out);
    if (fds >= 0)
        fprintf(out, "vidgen_process_open_fds %ld\n", fds);
    fputs("# HELP vidgen_process_max_fds The open-file limit.\n# TYPE vidgen_process_max_fds gauge\n", out);
    if (max_fds >= 0)
        fprintf(out, "vidgen_process_max_fds %ld\n", max_fds);
    fprintf(out,
            "# HELP vidgen_process_start_time_seconds When this process started, Unix time.\n"
            "# TYPE vidgen_process_start_time_seconds gauge\nvidgen_process_start_time_seconds %.3f\n"
            "# HELP vidgen_build_info What this binary was built from; always 1.\n"
            "# TYPE vidgen_build_info gauge\n"
            "vidgen_build_info{version=\"%s\",h2o=\"%s\",sqlite=\"%s\",jansson=\"%s\"} 1\n",
            started_at, VIDGEN_VERSION, H2O_VERSION, sqlite3_libversion(), JANSSON_VERSION);
}
