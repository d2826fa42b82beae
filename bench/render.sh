#!/bin/sh
# Preview renderer against the ffmpeg CLI, same machine, same run:
#   ours:   build/vidgen render, 1280x720, 5 s, 24 fps -> H.264 MP4 (libx264 veryfast, yuv420p)
#   ffmpeg: ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=24 -t 5 -c:v libx264 -preset veryfast
#           -pix_fmt yuv420p out.mp4   (a generated picture encoded with the same settings)
# Run from the repository root after `make`:  sh bench/render.sh
# Environment: VIDGEN (binary, default build/vidgen), RUNS (default 10).
set -eu
VIDGEN=${VIDGEN:-build/vidgen}
RUNS=${RUNS:-10}
[ -x "$VIDGEN" ] || { echo "bench/render.sh: $VIDGEN not built (run make)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "bench/render.sh: ffmpeg not installed" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

OURS="$VIDGEN render --prompt 'a red fox running through snow' --resolution 720p --aspect-ratio 16:9 --duration 5 $dir/ours.mp4"
FFMPEG="ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=24 -t 5 -c:v libx264 -preset veryfast -pix_fmt yuv420p $dir/ffmpeg.mp4"

echo "render 1280x720, 5 s @ 24 fps, libx264 veryfast; $(nproc) cores; $RUNS runs each"
if command -v hyperfine >/dev/null; then
    hyperfine --style basic --warmup 1 --runs "$RUNS" --export-markdown "$dir/table.md" \
        -n "vidgen render" "$OURS" -n "ffmpeg CLI (testsrc2)" "$FFMPEG" >&2
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
            END { printf "| %s | %.3f | %.3f |\n", name, s / n, m }'
    }
    echo "| command | mean [s] | min [s] |"
    echo "|:---|---:|---:|"
    measure "vidgen render" "$OURS"
    measure "ffmpeg CLI (testsrc2)" "$FFMPEG"
fi
echo
echo "outputs:"
for f in ours ffmpeg; do
    printf '  %-7s %s bytes, ' "$f" "$(wc -c < "$dir/$f.mp4")"
    "$VIDGEN" probe "$dir/$f.mp4" | tr '\n' ' ' | tr -s ' '; echo
done
