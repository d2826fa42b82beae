#!/bin/sh
# Thumbnails against the ffmpeg CLI, same machine, same run, on the same videos:
#   ours:   build/vidgen thumbnail VIDEO OUT.jpg --width 480
#   ffmpeg: ffmpeg -ss 1 -i VIDEO -frames:v 1 -vf scale=480:-2 OUT.jpg
# Two 720p 5 s inputs: a clip from `vidgen render` (keyframe every 2 s) and ffmpeg's
# testsrc2 encoded with x264 defaults (one keyframe, busier picture), so both have to
# decode from a keyframe up to 1 s.
# Run from the repository root after `make`:  sh bench/thumbnail.sh
# Environment: VIDGEN (binary, default build/vidgen), RUNS (default 30).
set -eu
VIDGEN=${VIDGEN:-build/vidgen}
RUNS=${RUNS:-30}
[ -x "$VIDGEN" ] || { echo "bench/thumbnail.sh: $VIDGEN not built (run make)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "bench/thumbnail.sh: ffmpeg not installed" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

"$VIDGEN" render --prompt 'a red fox running through snow' --duration 5 "$dir/render.mp4"
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=24 -t 5 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$dir/testsrc2.mp4"

ours() { echo "$VIDGEN thumbnail $dir/$1.mp4 $dir/ours-$1.jpg --width 480"; }
theirs() { echo "ffmpeg -nostdin -loglevel error -y -ss 1 -i $dir/$1.mp4 -frames:v 1 -vf scale=480:-2 $dir/ffmpeg-$1.jpg"; }

echo "thumbnail at 1 s of a 1280x720 5 s H.264 clip, scaled to 480 wide; $(nproc) cores; $RUNS runs each"
if command -v hyperfine >/dev/null; then
    hyperfine --style basic -N --warmup 3 --runs "$RUNS" --export-markdown "$dir/table.md" \
        -n "vidgen thumbnail (render.mp4)" "$(ours render)" \
        -n "ffmpeg CLI (render.mp4)" "$(theirs render)" \
        -n "vidgen thumbnail (testsrc2.mp4)" "$(ours testsrc2)" \
        -n "ffmpeg CLI (testsrc2.mp4)" "$(theirs testsrc2)" >&2
    cat "$dir/table.md"
else
    # No hyperfine: mean and best wall time of a plain loop.
    measure() {
        i=0; times=""
        while [ "$i" -lt "$RUNS" ]; do
            t0=$(date +%s.%N); sh -c "$2" >/dev/null; t1=$(date +%s.%N)
            times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"; i=$((i + 1))
        done
        echo "$times" | tr ' ' '\n' | awk -v name="$1" 'NF { s += $1; n++; if (!m || $1 < m) m = $1 }
            END { printf "| %s | %.1f | %.1f |\n", name, 1000 * s / n, 1000 * m }'
    }
    echo "| command | mean [ms] | min [ms] |"
    echo "|:---|---:|---:|"
    for v in render testsrc2; do
        measure "vidgen thumbnail ($v.mp4)" "$(ours $v)"
        measure "ffmpeg CLI ($v.mp4)" "$(theirs $v)"
    done
fi
echo
echo "outputs:"
for v in render testsrc2; do
    for who in ours ffmpeg; do
        printf '  %-22s %s bytes\n' "$who-$v.jpg" "$(wc -c < "$dir/$who-$v.jpg")"
    done
done
