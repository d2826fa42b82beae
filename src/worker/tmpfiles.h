/* Temporary files of running jobs. The local renderer writes a video and its thumbnail
 * under DATA_DIR/tmp and renames them into place when done, so a worker killed meanwhile
 * leaves them behind. Their names say which claim wrote them,
 * DATA_DIR/tmp/<generation id>.<lease token>.<ext> (the token names the host, the process
 * and the claim: worker/owner.h), so they never collide across hosts sharing the directory
 * or across claims, and a worker that starts can remove at once the files no live claim is
 * writing. */
#ifndef VIDGEN_WORKER_TMPFILES_H
#define VIDGEN_WORKER_TMPFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

/* The path of the temporary `ext` file ("mp4", "jpg") of generation `gen_id` written under
 * the claim `lease_token`, into `out`. Returns -1 when it does not fit. */
int tmpfiles_path(char *out, size_t cap, const char *data_dir, const char *gen_id, const char *lease_token,
                  const char *ext);

/* Whether a temporary file written under the claim `file_token` may still be written to:
 * the generation's lease (`lease`, NULL when the generation is gone) is still that claim,
 * and its process runs. On this host (`host`) that is asked of `alive`, except for `self`:
 * the caller holds no lease yet, so a lease naming its pid is a former process's. On another
 * host (a shared data directory) the holder is trusted while its lease has not expired. */
bool tmpfiles_in_use(const char *file_token, const struct job_lease *lease, int64_t now_ms, const char *host,
                     pid_t self, bool (*alive)(pid_t pid));

/* At a worker's start, before it claims anything: removes every file of DATA_DIR/tmp that
 * is not in use (above), and any file older than an hour whatever its name says. */
void tmpfiles_clean(const char *data_dir, struct store *s);

#endif
