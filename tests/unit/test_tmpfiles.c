/* Which temporary files a starting worker may remove: the owner names in leases, and the
 * rule that keeps a live worker's files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "worker/owner.h"
#include "worker/tmpfiles.h"

#define NOW 1000000
#define SELF 100
#define LIVE 200 /* a running process on this host; every other pid is dead */

static bool alive(pid_t pid)
{
    return pid == LIVE || pid == SELF;
}

static struct job_lease lease(const char *owner, int64_t until)
{
    struct job_lease l = {.until = until};
    snprintf(l.owner, sizeof l.owner, "%s", owner);
    return l;
}

Test(owner, a_new_name_parses_back_to_this_host_and_process)
{
    char name[STORE_LEASE_OWNER_MAX + 1], host[OWNER_HOST_MAX + 1], here[OWNER_HOST_MAX + 1];
    pid_t pid;
    owner_new(name);
    owner_host(here);
    cr_assert_eq(owner_parse(name, host, &pid), 0, "%s", name);
    cr_expect_str_eq(host, here);
    cr_expect_eq(pid, getpid());
    for (const char *bad[] = {"", "host", "host:12", ":12:x", "host:x:y", "host:0:y", "host::y"}, **b = bad;
         b < bad + 7; b++)
        cr_expect_eq(owner_parse(*b, host, &pid), -1, "'%s' accepted", *b);
}

Test(tmpfiles, a_file_stays_only_while_the_claim_that_wrote_it_holds_the_job_and_runs)
{
    struct job_lease held = lease("here:200:tag:7", NOW + 5000), expired = lease("here:200:tag:7", NOW - 1);
    struct job_lease dead = lease("here:300:tag:7", NOW + 5000), self = lease("here:100:tag:7", NOW + 5000);
    struct job_lease free_ = lease("", 0), far = lease("there:200:tag:7", NOW + 5000);
    struct job_lease far_expired = lease("there:200:tag:7", NOW - 1), junk = lease("junk", NOW + 5000);
    struct job_lease again = lease("here:200:tag:8", NOW + 5000);
    const struct {
        const char *file_token;
        const struct job_lease *lease;
        bool in_use;
        const char *why;
    } cases[] = {
        {"here:200:tag:7", &held, true, "its claim holds the job and its process runs"},
        {"here:200:tag:7", &expired, true, "its process runs: an expired lease it may still renew"},
        {"here:300:tag:7", &dead, false, "its writer was killed (the lease has not expired yet)"},
        {"here:100:tag:7", &self, false, "a former process with the starting worker's pid"},
        {"here:300:tag:7", &held, false, "another process holds the job now"},
        {"here:200:tag:7", &again, false, "the same process took the job up again: a new claim"},
        {"here:200:tag:7", &free_, false, "nobody holds the job (finished, or handed back)"},
        {"here:200:tag:7", NULL, false, "the generation is gone"},
        {"there:200:tag:7", &far, true, "a worker on another host, within its lease"},
        {"there:200:tag:7", &far_expired, false, "a worker on another host whose lease expired"},
        {"junk", &junk, false, "an owner that is not a worker name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(tmpfiles_in_use(cases[i].file_token, cases[i].lease, NOW, "here", SELF, alive), cases[i].in_use,
                     "case %zu: %s", i, cases[i].why);
}

Test(tmpfiles, the_path_names_the_generation_and_the_claim)
{
    char path[256];
    cr_assert_eq(tmpfiles_path(path, sizeof path, "/data", "01ABCDEFGHJKMNPQRSTVWXYZ00", "h.example:12:T:3", "mp4"), 0);
    cr_expect_str_eq(path, "/data/tmp/01ABCDEFGHJKMNPQRSTVWXYZ00.h.example:12:T:3.mp4");
    cr_expect_eq(tmpfiles_path(path, 20, "/data", "01ABCDEFGHJKMNPQRSTVWXYZ00", "h:12:T:3", "mp4"), -1);
}
