/* FFmpeg's own log lines, routed into the service log. */
#ifndef VIDGEN_MEDIA_AVLOG_H
#define VIDGEN_MEDIA_AVLOG_H

/* Sends FFmpeg's warnings and errors to util/log at debug level, fatal ones at error
 * level, and drops its chatter (x264's statistics and the like). Without this FFmpeg
 * prints raw lines on stderr from any thread; the media_* functions report every failure
 * through their `err` buffers anyway. Call once at start-up, before other threads run
 * (it sets FFmpeg's process-wide log callback); calling it again is harmless. */
void media_avlog_init(void);

#endif
