#!/bin/sh
# run.sh [WASMIND] — end-to-end test of the OCR guest (examples/ocr): renders pages of text with ImageMagick in
# several fonts and sizes, reads them with the guest under `wasmind run` and the PaddleOCR v4 models, and checks the
# character error rate (<= 2%) and exact lines (>= 80%); then the guest's messages for bad input.
# Prints "N passed, N failed".
#
# Needs (Debian): clang, lld, wasi-libc, libstb-dev, imagemagick, fonts-dejavu-core, fonts-liberation, python3; the
# models from scripts/fetch-models.sh in build/models (or $MODELS). Without them the test is skipped, which counts as
# a failure only when REQUIRE_MODELS=1. OCR_QUICK=1 reads one short line instead of the pages (for slow sanitizer
# builds: a page takes minutes there) and skips the rotated pages.
# shellcheck disable=SC2046,SC2015  # set -- $(...) splits on purpose; ok and bad always succeed
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T="$ROOT/tests/ocr"
B="$ROOT/build/ocr"
WASMIND="${1:-${WASMIND:-$ROOT/build/wasmind}}"
MODELS="${MODELS:-$ROOT/build/models}"
MAX_CER="${MAX_CER:-2.0}"        # percent
MIN_EXACT="${MIN_EXACT:-80}"     # percent of lines
FONTS_DEJAVU=/usr/share/fonts/truetype/dejavu
FONTS_LIBERATION=/usr/share/fonts/truetype/liberation
mkdir -p "$B"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

[ -x "$WASMIND" ] || { bad "no $WASMIND (build wasmind first)"; finish; }
for m in ppocr_det.onnx ppocr_rec.onnx ppocr_cls.onnx ppocr_keys_v1.txt; do
    if [ ! -f "$MODELS/$m" ]; then
        if [ "${REQUIRE_MODELS:-0}" = 1 ]; then bad "OCR models missing: no $MODELS/$m (run scripts/fetch-models.sh)"
        else echo "SKIP OCR end-to-end test: no $MODELS/$m" \
            "(run scripts/fetch-models.sh; REQUIRE_MODELS=1 makes this a failure)"; fi
        finish
    fi
done
command -v convert >/dev/null || { bad "ImageMagick's convert not found (apt-get install imagemagick)"; finish; }

# 1. the guest
if make -s -C "$ROOT/examples/ocr" OUT="$B/ocr.wasm" >"$B/build.log" 2>&1; then ok "build guest"
else cat "$B/build.log"; bad "build guest (needs clang wasm32, wasi-libc, libstb-dev)"; finish; fi

# ocr ARGS... : runs the guest with the three models preloaded, $B as /b and the models folder as /m
# (stdin from /dev/null: the page loop below reads its list from stdin)
ocr() {
    "$WASMIND" run --dir "$B::/b" --dir "$MODELS::/m" \
        --nn-preload "det:onnx:cpu:$MODELS/ppocr_det.onnx" --nn-preload "rec:onnx:cpu:$MODELS/ppocr_rec.onnx" \
        --nn-preload "cls:onnx:cpu:$MODELS/ppocr_cls.onnx" "$B/ocr.wasm" "$@" </dev/null
}

# 2. pages: one block of phrases.txt (blank-line separated) per page, in a given font and pixel size
#    NAME FONT_FILE SIZE BLOCK
PAGES="dejavu-sans-28 $FONTS_DEJAVU/DejaVuSans.ttf 28 1
dejavu-serif-32 $FONTS_DEJAVU/DejaVuSerif.ttf 32 2
liberation-sans-26 $FONTS_LIBERATION/LiberationSans-Regular.ttf 26 3
liberation-serif-30 $FONTS_LIBERATION/LiberationSerif-Regular.ttf 30 4
liberation-mono-24 $FONTS_LIBERATION/LiberationMono-Regular.ttf 24 5
dejavu-sans-40 $FONTS_DEJAVU/DejaVuSans.ttf 40 6
liberation-serif-24 $FONTS_LIBERATION/LiberationSerif-Regular.ttf 24 1
dejavu-serif-24 $FONTS_DEJAVU/DejaVuSerif.ttf 24 3"
[ "${OCR_QUICK:-0}" = 1 ] && PAGES="quick-dejavu-sans-28 $FONTS_DEJAVU/DejaVuSans.ttf 28 7"

rm -f "$B"/score_*.txt
start=$(date +%s)
echo "$PAGES" | while read -r name font size block; do
    [ -f "$font" ] || { echo "FAIL font $font missing (fonts-dejavu-core, fonts-liberation)"; continue; }
    awk -v want="$block" 'BEGIN { RS = "" } NR == want { print }' "$T/phrases.txt" >"$B/$name.txt"
    # label: treats % as a format escape; the text goes as an argument (ImageMagick's policy may forbid @file)
    text=$(sed 's/%/%%/g' "$B/$name.txt")
    if ! convert -background white -fill black -font "$font" -pointsize "$size" label:"$text" \
            -bordercolor white -border 40 "$B/$name.png" 2>"$B/$name.err"; then
        cat "$B/$name.err"; echo "FAIL render $name"; continue
    fi
    t0=$(date +%s)
    if ! ocr --keys /m/ppocr_keys_v1.txt "/b/$name.png" >"$B/$name.out" 2>"$B/$name.err"; then
        cat "$B/$name.err"; echo "FAIL ocr $name"; continue
    fi
    t1=$(date +%s)
    set -- $(python3 "$T/score.py" "$B/$name.txt" "$B/$name.out" 2>"$B/$name.diff")
    echo "$name $*" >"$B/score_$name.txt"
    printf '  %-22s %s  CER %s%%  exact %s/%s lines  (%ss)\n' "$name" "$(identify -format %wx%h "$B/$name.png")" \
        "$(awk -v e="$2" -v c="$1" 'BEGIN { printf "%.2f", 100 * e / c }')" "$4" "$3" $((t1 - t0))
    cat "$B/$name.diff"
done
n=$(echo "$PAGES" | wc -l)
[ "$(ls "$B"/score_*.txt 2>/dev/null | wc -l)" -eq "$n" ] && ok "read all $n pages" || bad "read all $n pages"

# per font family and in total
cat "$B"/score_*.txt | awk '{ f = $1; sub(/-[0-9]+$/, "", f); c[f] += $2; e[f] += $3; l[f] += $4; x[f] += $5 }
    END { for (f in c) printf "  %-18s CER %.2f%%  exact %d/%d lines\n", f, 100 * e[f] / c[f], x[f], l[f] }' | sort
set -- $(cat "$B"/score_*.txt | awk '{ c += $2; e += $3; l += $4; x += $5 } END { print c + 0, e + 0, l + 0, x + 0 }')
chars=$1 errors=$2 lines=$3 exact=$4
if [ "$chars" -gt 0 ]; then
    cer=$(awk -v e="$errors" -v c="$chars" 'BEGIN { printf "%.2f", 100 * e / c }')
    rate=$(awk -v x="$exact" -v l="$lines" 'BEGIN { printf "%.1f", 100 * x / l }')
    what="character error rate $cer% <= $MAX_CER% ($errors/$chars)"
    awk -v a="$cer" -v b="$MAX_CER" 'BEGIN { exit !(a <= b) }' && ok "$what" || bad "$what"
    what="exact lines $rate% >= $MIN_EXACT% ($exact/$lines)"
    awk -v a="$rate" -v b="$MIN_EXACT" 'BEGIN { exit !(a >= b) }' && ok "$what" || bad "$what"
fi

# 3. output format; a JPEG; pages upside down, slanted and turned on their side
first=$(echo "$PAGES" | head -1 | cut -d' ' -f1)
# (mawk has no {n} repetition in regular expressions, hence the spelled-out corners)
if [ -s "$B/$first.out" ] && awk -F'\t' 'NF != 3 || $2 !~ /^[01]\.[0-9]+$/ { bad = 1 }
        $3 !~ /^[0-9]+,[0-9]+ [0-9]+,[0-9]+ [0-9]+,[0-9]+ [0-9]+,[0-9]+$/ { bad = 1 }
        END { exit bad }' "$B/$first.out"; then ok "output lines are TEXT<TAB>CONFIDENCE<TAB>4 corners"
else bad "output lines are TEXT<TAB>CONFIDENCE<TAB>4 corners"; fi
if [ "${OCR_QUICK:-0}" != 1 ]; then
# read_page WHAT FILE REF [--any-order]: OCRs $B/FILE and passes when at most 2% of REF's characters are wrong
read_page() {
    what=$1 name=$2 ref=$3
    shift 3
    ocr --keys /m/ppocr_keys_v1.txt "/b/$name" >"$B/$name.out" 2>"$B/$name.err"
    set -- $(python3 "$T/score.py" "$ref" "$B/$name.out" "$@" 2>/dev/null) 1 1 1 0
    [ "$2" -le $(($1 / 50)) ] && ok "$what ($2 errors in $1 characters, $4/$3 lines exact)" ||
        { cat "$B/$name.out" "$B/$name.err"; bad "$what ($2 errors in $1 characters, $4/$3 lines exact)"; }
}
convert "$B/$first.png" -quality 92 "$B/page.jpg"
read_page "JPEG input" page.jpg "$B/$first.txt"
# upside down: the direction classifier turns each crop back; the lines come out bottom to top
convert "$B/$first.png" -rotate 180 "$B/flipped.png"
tac "$B/$first.txt" >"$B/flipped.txt"
read_page "upside-down page" flipped.png "$B/flipped.txt"
# slanted lines: min-area boxes at an angle, warped upright, and kept in reading order
second=$(echo "$PAGES" | sed -n 2p | cut -d' ' -f1)
convert "$B/$second.png" -background white -rotate 4 "$B/slanted.png"
read_page "page turned by 4 degrees" slanted.png "$B/$second.txt"
# vertical lines: tall crops are turned by 90 degrees (here to upside down, which the classifier then fixes)
printf 'Serial key: QX7-P4M-92Z\nBatch 88 passed quality control.\n' >"$B/vertical.txt"
convert -background white -fill black -font "$FONTS_DEJAVU/DejaVuSans.ttf" -pointsize 30 \
    label:"$(cat "$B/vertical.txt")" -bordercolor white -border 40 -rotate -90 "$B/vertical.png"
read_page "page turned by 90 degrees" vertical.png "$B/vertical.txt" --any-order
fi

# a page without text: no lines, and success
convert -size 320x200 xc:white "$B/blank.png"
if ocr --keys /m/ppocr_keys_v1.txt /b/blank.png >"$B/blank.out" 2>"$B/blank.err" && [ ! -s "$B/blank.out" ]; then
    ok "blank page: no lines"
else cat "$B/blank.out" "$B/blank.err"; bad "blank page: no lines"; fi

# 4. errors are messages and exit status 1, never a trap
# expect NAME PATTERN ARGS... : the guest must fail with exit status 1 and print PATTERN on stderr
expect() {
    name=$1 pattern=$2
    shift 2
    "$@" >"$B/err.out" 2>"$B/err.txt"
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q "$pattern" "$B/err.txt" && ! grep -qi "trap\|backtrace" "$B/err.txt"; then
        ok "$name: $(head -1 "$B/err.txt")"
    else
        cat "$B/err.txt"; bad "$name (exit $rc, want 1 and '$pattern')"
    fi
}
printf 'this is not an image\n' >"$B/not-an-image.png"
head -c 300 "$B/$first.png" >"$B/truncated.png"
expect "missing image" "cannot open /b/nosuch.png: No such file" ocr --keys /m/ppocr_keys_v1.txt /b/nosuch.png
expect "not an image" "cannot read /b/not-an-image.png as an image" ocr --keys /m/ppocr_keys_v1.txt /b/not-an-image.png
expect "truncated PNG" "cannot read /b/truncated.png as an image" ocr --keys /m/ppocr_keys_v1.txt /b/truncated.png
expect "missing dictionary" "cannot open dictionary /m/nosuch.txt" ocr --keys /m/nosuch.txt "/b/$first.png"
expect "missing model" "no model named 'rec'" "$WASMIND" run --dir "$B::/b" --dir "$MODELS::/m" \
    --nn-preload "det:onnx:cpu:$MODELS/ppocr_det.onnx" "$B/ocr.wasm" --keys /m/ppocr_keys_v1.txt "/b/$first.png"
expect "wrong model for a name" "not the recogniser\|not a multiple" "$WASMIND" run --dir "$B::/b" --dir "$MODELS::/m" \
    --nn-preload "det:onnx:cpu:$MODELS/ppocr_det.onnx" --nn-preload "rec:onnx:cpu:$MODELS/ppocr_cls.onnx" \
    "$B/ocr.wasm" --no-cls --keys /m/ppocr_keys_v1.txt "/b/$first.png"

echo "  total time $(($(date +%s) - start))s"
finish
