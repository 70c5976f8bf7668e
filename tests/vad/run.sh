#!/bin/sh
# run.sh [WASMIND] — end-to-end test of the VAD guest (examples/vad): synthesises speech with espeak-ng, places it
# among silence and low noise at known times with sox, and checks the guest's segments, its per-chunk
# probabilities against ONNX Runtime, its WAV formats and its error messages. Prints "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T="$ROOT/tests/vad"
B="$ROOT/build/vad"
WASMIND="${1:-${WASMIND:-$ROOT/build/wasmind}}"
MODELS="${MODELS:-$ROOT/build/models}"
MODEL="$MODELS/silero_vad_v5.onnx"
ORT="$MODELS/ort/node_modules/onnxruntime-node"
TOL=0.100   # seconds: the issue's acceptance bound for every segment boundary
# VAD_QUICK=1 keeps the short inputs only (for slow sanitizer builds: about 1100 model calls instead of 3400)
QUICK="${VAD_QUICK:-0}"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -f "$MODEL" ]; then
    echo "SKIP vad: no $MODEL (run scripts/fetch-models.sh)"
    finish
fi
[ -x "$WASMIND" ] || { bad "no $WASMIND (build wasmind first)"; finish; }
for tool in espeak-ng sox node; do
    command -v $tool >/dev/null 2>&1 || { bad "needs $tool (apt-get install espeak-ng sox nodejs)"; finish; }
done

mkdir -p "$B/t"
W="$B/t"   # work folder, mapped into the guest as /w
rm -f "$W"/*

# 1. guest
if make -s -C "$ROOT/examples/vad" OUT="$B/vad.wasm" >"$B/build.log" 2>&1 && [ ! -s "$B/build.log" ]; then ok "build guest (no warnings)"
else cat "$B/build.log"; bad "build guest"; [ -f "$B/vad.wasm" ] || finish; fi

# vad ARGS... : the guest with the model preloaded as "vad" and the work folder as /w
vad() { "$WASMIND" run --dir "$W::/w" --nn-preload "vad:onnx:cpu:$MODEL" "$B/vad.wasm" "$@"; }

# 2. speech clips. `sox -R` keeps dither and noise repeatable from run to run.
SOX="sox -R -V1"
# clip NAME VOICE SPEED TEXT: a 16 kHz mono PCM16 clip and its audible extent (NAME.ext: "start_s end_s
# longest_inner_pause_ms"; the truth for the VAD).
# Sentences without commas: espeak-ng pauses at punctuation, and a pause of 100 ms or more is a legitimate
# place for the VAD to split (min silence), which would leave the clip without one true extent.
clip() {
    espeak-ng -v "$2" -s "$3" -w "$W/$1.raw.wav" "$4" && $SOX "$W/$1.raw.wav" -r 16000 -c 1 -b 16 "$W/$1.wav" &&
        node "$T/wavtool.mjs" extent "$W/$1.wav" >"$W/$1.ext" &&
        awk -v n="$1" '$3 >= 80 { print n ": inner pause of " $3 " ms"; exit 1 }' "$W/$1.ext"
}
clip c1 en-us 175 "The quick brown fox jumps over the lazy dog" &&
clip c2 en+f3 160 "Please call me back when you get this message" &&
clip c3 en+m3 200 "Voice activity detection finds the speech in a long recording" &&
clip c4 fr+f2 170 "Bonjour tout le monde je suis content de vous voir" &&
clip c5 es 170 "Hola como estas hoy amigo mio" &&
clip c6 en-029 170 "Thanks for all the fish" ||
    { bad "synthesise speech (espeak-ng, sox)"; finish; }

# silence / noise pieces: NAME SECONDS [NOISE VOLUME]
piece() {
    if [ $# -eq 2 ]; then $SOX -n -r 16000 -c 1 -b 16 "$W/$1.wav" trim 0 "$2"
    else $SOX -n -r 16000 -c 1 -b 16 "$W/$1.wav" synth "$2" "$3" vol "$4"; fi
}

# mix NAME PART...: concatenates the parts; NAME.truth gets the known speech extent of every clip part
# (cN), offset by the duration of everything before it.
mix() {
    name=$1
    shift
    files="" off=0
    : >"$W/$name.truth"
    for p in "$@"; do
        files="$files $W/$p.wav"
        case $p in c*) awk -v o="$off" '{ printf "%.4f %.4f\n", o + $1, o + $2 }' "$W/$p.ext" >>"$W/$name.truth" ;; esac
        off=$(awk -v o="$off" -v s="$(soxi -s "$W/$p.wav")" 'BEGIN { printf "%.6f", o + s / 16000 }')
    done
    # shellcheck disable=SC2086
    $SOX $files "$W/$name.wav"
}

piece s05 0.5 && piece s07 0.7 && piece s10 1.0 && piece s12 1.2 && piece s20 2.0 &&
piece nw15 1.5 whitenoise 0.03 && piece np08 0.8 pinknoise 0.1 && piece nb10 1.0 brownnoise 0.03 &&
piece nw20 2.0 whitenoise 0.03 && piece np20 2.0 pinknoise 0.1 && piece nb20 2.0 brownnoise 0.03 ||
    { bad "generate silence and noise (sox)"; finish; }
mix m1 s10 c1 nw15 c2 s10
mix m2 s07 c3 s12 c4 np08 c5 nb10 c6 s10
# m3: m2 over a continuous white-noise floor at -60 dBFS: the truth is unchanged
$SOX -n -r 16000 -c 1 -b 16 "$W/floor.wav" synth "$(soxi -D "$W/m2.wav")" whitenoise vol 0.003
$SOX -m -v 1 "$W/m2.wav" -v 1 "$W/floor.wav" "$W/m3.wav" && cp "$W/m2.truth" "$W/m3.truth"
# m4: at 8 kHz, the model's other rate (256-sample chunks), clips that start and end voiced: 8 kHz audio loses
# the energy of fricatives above 4 kHz, so the /th/ of "Thanks" or the /s/ of "jumps" (which leaves a 110 ms
# gap) are not speech to the model any more, while the 16 kHz truth still counts them.
mix m4src s10 c2 nw15 c3 np08 c4 s10
$SOX "$W/m4src.wav" -r 8000 "$W/m4.wav" && cp "$W/m4src.truth" "$W/m4.truth"
# m5: a short file for the format and option checks; m6: it at 8 kHz
mix m5 s05 c6 s05
$SOX "$W/m5.wav" -r 8000 "$W/m6.wav"

# 3. segment boundaries against the known ones: as many segments as clips, each boundary within TOL
check_segments() {
    name=$1
    shift
    if ! vad "$@" "/w/$name.wav" >"$W/$name.seg" 2>"$W/$name.err"; then
        cat "$W/$name.err"; bad "$name: guest run"; return
    fi
    if res=$(awk -v tol="$TOL" 'NR == FNR { ts[NR] = $1; te[NR] = $2; nt = NR; next }
            { ds[FNR] = $1; de[FNR] = $2; nd = FNR }
            END {
                if (nd != nt) { printf "%d segments, expected %d", nd, nt; exit 1 }
                worst = 0; fails = 0; s = ""
                for (i = 1; i <= nt; i++) {
                    es = (ds[i] - ts[i]) * 1000; ee = (de[i] - te[i]) * 1000
                    s = s sprintf(" %+.0f/%+.0f", es, ee)
                    if (es < 0) es = -es; if (ee < 0) ee = -ee
                    if (es > tol * 1000 || ee > tol * 1000) fails++
                    if (es > worst) worst = es; if (ee > worst) worst = ee
                }
                printf "start/end errors (ms):%s; worst %.0f ms", s, worst
                exit fails > 0
            }' "$W/$name.truth" "$W/$name.seg"); then
        ok "$name: $res"
    else
        echo "  truth:"; sed 's/^/    /' "$W/$name.truth"; echo "  detected:"; sed 's/^/    /' "$W/$name.seg"
        bad "$name: $res"
    fi
}
check_segments m5
if [ "$QUICK" != 1 ]; then
    check_segments m1
    check_segments m2
    check_segments m3
    check_segments m4
fi

# 4. no speech in pure silence or low noise
for nw in "s20:digital silence" "nw20:white noise at -40 dBFS" "np20:pink noise at -34 dBFS" "nb20:brown noise at -35 dBFS"; do
    n=${nw%%:*} what=${nw#*:}
    if vad "/w/$n.wav" >"$W/$n.seg" 2>"$W/$n.err" && [ ! -s "$W/$n.seg" ]; then ok "$n: no segments in 2 s of $what"
    else cat "$W/$n.err" "$W/$n.seg"; bad "$n: expected no segments"; fi
done

# 5. per-chunk probabilities (state carried across chunks) against ONNX Runtime run the same way
if [ -d "$ORT" ]; then
    list="m5 m6"
    [ "$QUICK" = 1 ] || list="$list m3 m4"
    for n in $list; do
        if vad --probs "/w/$n.wav" >"$W/$n.probs" 2>"$W/$n.perr" &&
           node "$T/wavtool.mjs" probs "$ORT" "$MODEL" "$W/$n.wav" >"$W/$n.ref" 2>"$W/$n.referr" &&
           res=$(node "$T/wavtool.mjs" compare "$W/$n.probs" "$W/$n.ref"); then ok "$n: probabilities match ONNX Runtime: $res"
        else cat "$W/$n.perr" "$W/$n.referr" 2>/dev/null; bad "$n: probabilities vs ONNX Runtime: ${res:-run failed}"; fi
        res=""
    done
else
    echo "SKIP probabilities vs ONNX Runtime: no $ORT"
fi

# 6. other WAV encodings of m5 give the same segments (float32, 24-bit, stereo are exact conversions of PCM16)
for enc in "f32:-e floating-point -b 32" "s24:-b 24" "stereo:-c 2"; do
    tag=${enc%%:*}
    # shellcheck disable=SC2086
    if $SOX "$W/m5.wav" ${enc#*:} "$W/m5_$tag.wav" && vad "/w/m5_$tag.wav" >"$W/m5_$tag.seg" 2>/dev/null &&
       cmp -s "$W/m5_$tag.seg" "$W/m5.seg"; then ok "m5 as $tag WAV: same segments"
    else bad "m5 as $tag WAV: segments differ"; fi
done
# the model passed as bytes (--model-file) instead of preloaded
if "$WASMIND" run --dir "$W::/w" --dir "$(dirname "$MODEL")::/m" "$B/vad.wasm" --model-file "/m/$(basename "$MODEL")" \
        /w/m5.wav >"$W/m5_file.seg" 2>/dev/null && cmp -s "$W/m5_file.seg" "$W/m5.seg"; then ok "--model-file: same segments"
else bad "--model-file: segments differ"; fi
# options are honoured: nothing lasts 10 s, a threshold of 1 is never reached, pads move the boundaries
if vad --min-speech 10000 /w/m5.wav >"$W/o1.seg" 2>/dev/null && [ ! -s "$W/o1.seg" ] &&
   vad --threshold 1 /w/m5.wav >"$W/o2.seg" 2>/dev/null && [ ! -s "$W/o2.seg" ] &&
   vad --pad 0 --end-pad 50 /w/m5.wav >"$W/o3.seg" 2>/dev/null &&
   awk 'NR == FNR { s[FNR] = $1; e[FNR] = $2; n = FNR; next }
        { d1 = $1 - s[FNR]; d2 = $2 - e[FNR]; if (d1 < 0.0295 || d1 > 0.0305 || d2 < 0.0495 || d2 > 0.0505) exit 1 }
        END { exit FNR < 1 || FNR != n }' "$W/m5.seg" "$W/o3.seg"; then ok "--min-speech, --threshold, --pad, --end-pad"
else bad "--min-speech, --threshold, --pad, --end-pad"; fi

# 7. errors: a clear message and a non-zero exit, never a trap
printf 'hello, not audio\n' >"$W/text.wav"
: >"$W/empty.wav"
head -c 30 "$W/m5.wav" >"$W/short.wav"   # cut inside the fmt chunk
$SOX "$W/c1.wav" -r 44100 "$W/r44.wav"
$SOX "$W/c1.wav" -e u-law "$W/ulaw.wav"
# expect_error LABEL PATTERN COMMAND...
expect_error() {
    label=$1 pat=$2
    shift 2
    if "$@" >"$W/e.out" 2>"$W/e.err"; then bad "$label: exit status 0"
    elif grep -q "wasm trap\|backtrace" "$W/e.err"; then cat "$W/e.err"; bad "$label: trapped"
    elif grep -q "$pat" "$W/e.err"; then ok "$label: $(grep "$pat" "$W/e.err" | head -1)"
    else cat "$W/e.err"; bad "$label: no message matching '$pat'"; fi
}
expect_error "missing file" "cannot read /w/nosuch.wav: No such file" vad /w/nosuch.wav
expect_error "not a WAV" "not a WAV file" vad /w/text.wav
expect_error "empty file" "not a WAV file" vad /w/empty.wav
expect_error "truncated WAV" "no valid fmt chunk" vad /w/short.wav
expect_error "44.1 kHz" "unsupported sample rate 44100" vad /w/r44.wav
expect_error "u-law" "unsupported WAV encoding" vad /w/ulaw.wav
expect_error "missing model" "no model named 'vad' is preloaded" "$WASMIND" run --dir "$W::/w" "$B/vad.wasm" /w/m5.wav
expect_error "missing model file" "cannot read model /w/nosuch.onnx" "$WASMIND" run --dir "$W::/w" "$B/vad.wasm" \
    --model-file /w/nosuch.onnx /w/m5.wav
expect_error "not a model" "wasi-nn load failed" "$WASMIND" run --dir "$W::/w" "$B/vad.wasm" --model-file /w/text.wav /w/m5.wav
expect_error "bad option" "needs a number" vad --threshold abc /w/m5.wav

finish
