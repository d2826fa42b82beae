/* A generation's files, served to their owner: the video inline (the player seeks with
 * Range), the video as a download, and the thumbnail. Each answers GET and HEAD; the body
 * is streamed from disk by http/file.c with ETag, Last-Modified and Range.
 *
 * Errors, in the API's JSON shape: 404 when the generation is not the caller's (the store
 * cannot tell that from "absent") or its file is gone from disk; 409 while it is not
 * completed. A file is only ever found through the path the database holds, relative to
 * the data directory; nothing from the request becomes part of a path. */
#ifndef VIDGEN_API_FILES_H
#define VIDGEN_API_FILES_H

#include "api/call.h"

/* GET /generations/:id/video — video/mp4, Content-Disposition: inline. */
int api_generation_video(struct api_call *c);
/* GET /download/:id — video/mp4, Content-Disposition: attachment; filename="vidgen-<id>.mp4". */
int api_generation_download(struct api_call *c);
/* GET /generations/:id/thumbnail — image/jpeg, inline. */
int api_generation_thumbnail(struct api_call *c);

#endif
