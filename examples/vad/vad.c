/* vad.c — WASI guest: voice activity detection with silero VAD v5 through WASI-NN. Reads a WAV file, runs the
 * model over 32 ms chunks carrying its recurrent state, and prints speech segments as "start_s end_s" lines. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "wasi_nn.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: vad [options] FILE.wav\n"
            "  Speech segments of a mono WAV (16 kHz or 8 kHz; PCM 8/16/24/32-bit or float 32/64-bit; several\n"
            "  channels are averaged), one \"start_s end_s\" line each, by silero VAD v5.\n"
            "  --model NAME          model preloaded by the host (default: vad; wasmind run --nn-preload vad:onnx:cpu:PATH)\n"
            "  --model-file PATH     an ONNX file to read (through a --dir mapping) instead\n"
            "  --threshold P         speech starts when a chunk's probability is >= P (default 0.5)\n"
            "  --neg-threshold P     speech may end only below P (default threshold - 0.15, at least 0.01)\n"
            "  --min-speech MS       drop segments not longer than MS (default 250)\n"
            "  --min-silence MS      end a segment after MS of silence (default 100)\n"
            "  --pad MS              start each segment MS earlier (default 30)\n"
            "  --end-pad MS          end each segment MS later (default 0; the model's probability already\n"
            "                        trails the end of speech by a chunk or more; 30 gives silero-vad's behaviour)\n"
            "  --probs               print \"start_s probability\" for every chunk instead of segments\n");
}

/* ---- WAV reading --------------------------------------------------------------------------------------------- */

typedef struct {
    float *samples;   /* mono, in [-1, 1] */
    size_t n;
    uint32_t rate;
} audio;

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* One sample of the given encoding as a float in [-1, 1]. */
static float decode_sample(const uint8_t *p, int is_float, unsigned bits) {
    if (is_float) {
        if (bits == 32) { float f; memcpy(&f, p, 4); return f; }   /* wasm is little-endian, like WAV */
        double d;
        memcpy(&d, p, 8);
        return (float)d;
    }
    switch (bits) {
    case 8: return ((float)p[0] - 128.0f) / 128.0f;   /* 8-bit WAV is unsigned */
    case 16: return (float)(int16_t)le16(p) / 32768.0f;
    case 24: return (float)((int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24) >> 8) / 8388608.0f;
    default: return (float)((double)(int32_t)le32(p) / 2147483648.0);
    }
}

/* Parses a RIFF/WAVE file into mono float samples. On failure returns a static message (no allocation left). */
static const char *parse_wav(const uint8_t *buf, size_t len, audio *out, char *msg, size_t msglen) {
    if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) return "not a WAV file (no RIFF/WAVE header)";
    const uint8_t *fmt = NULL, *data = NULL;
    size_t fmt_len = 0, data_len = 0;
    /* Walk the chunks; sizes are clamped to the file because streaming writers leave 0 or 0xFFFFFFFF there. */
    for (size_t off = 12; off + 8 <= len;) {
        size_t sz = le32(buf + off + 4), avail = len - off - 8;
        if (sz > avail) sz = avail;
        if (!memcmp(buf + off, "fmt ", 4)) { fmt = buf + off + 8; fmt_len = sz; }
        else if (!memcmp(buf + off, "data", 4)) { data = buf + off + 8; data_len = sz; break; }
        off += 8 + sz + (sz & 1);   /* chunks are padded to even sizes */
    }
    if (!fmt || fmt_len < 16) return "WAV file has no valid fmt chunk";
    if (!data) return "WAV file has no data chunk";
    unsigned tag = le16(fmt), channels = le16(fmt + 2), bits = le16(fmt + 14), align = le16(fmt + 12);
    uint32_t rate = le32(fmt + 4);
    /* WAVE_FORMAT_EXTENSIBLE keeps the real format tag in the first two bytes of its sub-format GUID. */
    if (tag == 0xFFFE && fmt_len >= 40) tag = le16(fmt + 24);
    int is_float = tag == 3;
    if (tag != 1 && tag != 3) {
        snprintf(msg, msglen, "unsupported WAV encoding (format tag 0x%04x; need PCM or IEEE float)", tag);
        return msg;
    }
    if ((is_float && bits != 32 && bits != 64) || (!is_float && bits != 8 && bits != 16 && bits != 24 && bits != 32)) {
        snprintf(msg, msglen, "unsupported WAV sample size: %u-bit %s", bits, is_float ? "float" : "PCM");
        return msg;
    }
    if (channels == 0 || align != channels * (bits / 8)) return "inconsistent WAV fmt chunk (channels, block align)";
    if (rate != 16000 && rate != 8000) {
        snprintf(msg, msglen, "unsupported sample rate %u Hz: silero VAD takes 16000 or 8000 Hz "
                 "(convert with: sox IN.wav -r 16000 -c 1 OUT.wav)", (unsigned)rate);
        return msg;
    }
    size_t frames = data_len / align;
    out->samples = malloc((frames ? frames : 1) * sizeof(float));
    if (!out->samples) return "out of memory";
    size_t bps = bits / 8;
    for (size_t i = 0; i < frames; i++) {
        /* Several channels are averaged: the model wants one, and a downmix keeps speech from any of them. */
        float acc = 0;
        for (unsigned c = 0; c < channels; c++) acc += decode_sample(data + i * align + c * bps, is_float, bits);
        out->samples[i] = acc / (float)channels;
    }
    out->n = frames;
    out->rate = rate;
    return NULL;
}

/* ---- the model --------------------------------------------------------------------------------------------- */

#define STATE_LEN (2 * 1 * 128)
#define MAX_CHUNK 512
#define MAX_CONTEXT 64

static const char *g_model_label;

/* Reports a failed WASI-NN call; not_found on load means the host preloaded no model by that name. */
static int nn_fail(const char *what, wasi_nn_errno e) {
    if (e == WASI_NN_NOT_FOUND && !strcmp(what, "load_by_name"))
        fprintf(stderr, "vad: no model named '%s' is preloaded (run with --nn-preload %s:onnx:cpu:silero_vad_v5.onnx)\n",
                g_model_label, g_model_label);
    else
        fprintf(stderr, "vad: wasi-nn %s failed for model '%s': %s (%d)\n", what, g_model_label, wasi_nn_strerror(e), (int)e);
    return -1;
}

/* Runs the model over the audio in chunks of `chunk` samples, each preceded by the last `context` samples of the
 * previous chunk (zeros before the first), as silero-vad's own wrapper does: v5 was trained with that context.
 * The last partial chunk is zero-padded. Writes one probability per chunk into probs. */
static int run_model(wasi_nn_ctx ctx, const audio *a, size_t chunk, size_t context, float *probs) {
    float in[MAX_CONTEXT + MAX_CHUNK] = { 0 };   /* [context | chunk] */
    float state[STATE_LEN] = { 0 };                /* the LSTM state, fed back each call */
    int64_t sr = a->rate;
    uint32_t in_dims[2] = { 1, (uint32_t)(context + chunk) }, state_dims[3] = { 2, 1, 128 }, no_dims[1] = { 0 };
    size_t nchunks = (a->n + chunk - 1) / chunk;
    for (size_t i = 0; i < nchunks; i++) {
        size_t start = i * chunk, have = a->n - start < chunk ? a->n - start : chunk;
        memmove(in, in + chunk, context * sizeof(float));   /* tail of the previous chunk becomes the context */
        memcpy(in + context, a->samples + start, have * sizeof(float));
        memset(in + context + have, 0, (chunk - have) * sizeof(float));
        wasi_nn_tensor t_in = wasi_nn_tensor_f32(in_dims, 2, in);
        wasi_nn_tensor t_state = wasi_nn_tensor_f32(state_dims, 3, state);
        wasi_nn_tensor t_sr = wasi_nn_tensor_make(WASI_NN_TYPE_I64, no_dims, 0, &sr);   /* int64 scalar */
        wasi_nn_errno e;
        /* graph input order is input, state, sr; outputs are output [1,1], stateN [2,1,128] */
        if ((e = wasi_nn_set_input(ctx, 0, &t_in)) || (e = wasi_nn_set_input(ctx, 1, &t_state)) ||
            (e = wasi_nn_set_input(ctx, 2, &t_sr)))
            return nn_fail("set_input", e);
        if ((e = wasi_nn_compute(ctx))) return nn_fail("compute", e);
        float p;
        uint32_t got = 0;
        if ((e = wasi_nn_get_output(ctx, 0, (uint8_t *)&p, sizeof p, &got))) return nn_fail("get_output(output)", e);
        if (got != sizeof p) { fprintf(stderr, "vad: model output is %u bytes, expected one float\n", got); return -1; }
        if ((e = wasi_nn_get_output(ctx, 1, (uint8_t *)state, sizeof state, &got))) return nn_fail("get_output(stateN)", e);
        if (got != sizeof state) { fprintf(stderr, "vad: model state is %u bytes, expected %zu\n", got, sizeof state); return -1; }
        probs[i] = p;
    }
    return 0;
}

/* ---- probabilities to segments ------------------------------------------------------------------------------ */

typedef struct {
    float threshold, neg_threshold;
    double min_speech_ms, min_silence_ms, pad_ms, end_pad_ms;
} vad_params;

typedef struct {
    size_t start, end;   /* samples */
} segment;

/* Hysteresis over per-chunk probabilities (the rules of silero-vad's get_speech_timestamps, without its
 * max-speech splitting): speech starts at the first chunk >= threshold; it ends at the first chunk below
 * neg_threshold once min_silence has passed from that chunk without any chunk >= threshold; segments not longer
 * than min_speech are dropped. Then starts move earlier by pad and ends later by end_pad, neighbours never
 * overlapping: a short gap goes first to the end pad (at most half of it), the rest to the start pad.
 * silero-vad pads both sides by 30 ms; here the end pad defaults to 0 because v5's probability stays high for
 * one to three chunks after speech stops (measured on espeak-ng speech: ends came out 30-110 ms late before
 * padding), so an end pad only moves ends further from the speech. Returns the number of segments (<= nchunks). */
static size_t segments(const float *probs, size_t nchunks, size_t chunk, size_t total, uint32_t rate,
                       const vad_params *p, segment *segs) {
    double per_ms = rate / 1000.0;
    size_t min_speech = (size_t)(p->min_speech_ms * per_ms), min_silence = (size_t)(p->min_silence_ms * per_ms);
    size_t pad = (size_t)(p->pad_ms * per_ms), end_pad = (size_t)(p->end_pad_ms * per_ms);
    size_t n = 0, start = 0, silence_from = 0;
    int in_speech = 0, in_silence = 0;
    for (size_t i = 0; i < nchunks; i++) {
        size_t at = i * chunk;
        float pr = probs[i];
        if (!in_speech) {
            if (pr >= p->threshold) { in_speech = 1; in_silence = 0; start = at; }
            continue;
        }
        if (pr >= p->threshold) { in_silence = 0; continue; }   /* speech resumed: forget the tentative end */
        if (pr >= p->neg_threshold) continue;   /* between the thresholds: neither starts nor resets silence */
        if (!in_silence) { in_silence = 1; silence_from = at; }
        if (at - silence_from < min_silence) continue;
        if (silence_from - start > min_speech) segs[n++] = (segment){ start, silence_from };
        in_speech = in_silence = 0;
    }
    if (in_speech && total - start > min_speech) segs[n++] = (segment){ start, total };
    for (size_t i = 0; i < n; i++) {
        segs[i].start = i == 0 ? (segs[i].start > pad ? segs[i].start - pad : 0) : segs[i].start;
        if (i + 1 < n) {
            size_t gap = segs[i + 1].start - segs[i].end;
            size_t e = end_pad < gap / 2 ? end_pad : gap / 2, s = pad < gap - e ? pad : gap - e;
            segs[i].end += e;
            segs[i + 1].start -= s;
        } else {
            segs[i].end = segs[i].end + end_pad < total ? segs[i].end + end_pad : total;
        }
    }
    return n;
}

/* ---- main -------------------------------------------------------------------------------------------------- */

/* Parses a number option; exits with a message when it is not a finite number in [lo, hi]. */
static double num_arg(const char *opt, const char *v, double lo, double hi) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi) {
        fprintf(stderr, "vad: %s needs a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        exit(2);
    }
    return d;
}

int main(int argc, char **argv) {
    const char *model = NULL, *model_file = NULL, *path = NULL;
    vad_params prm = { 0.5f, -1.0f, 250, 100, 30, 0 };
    int print_probs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--probs")) print_probs = 1;
        else if (!strcmp(a, "--model") && v) { model = v; i++; }
        else if (!strcmp(a, "--model-file") && v) { model_file = v; i++; }
        else if (!strcmp(a, "--threshold") && v) { prm.threshold = (float)num_arg(a, v, 0, 1); i++; }
        else if (!strcmp(a, "--neg-threshold") && v) { prm.neg_threshold = (float)num_arg(a, v, 0, 1); i++; }
        else if (!strcmp(a, "--min-speech") && v) { prm.min_speech_ms = num_arg(a, v, 0, 3.6e6); i++; }
        else if (!strcmp(a, "--min-silence") && v) { prm.min_silence_ms = num_arg(a, v, 0, 3.6e6); i++; }
        else if (!strcmp(a, "--pad") && v) { prm.pad_ms = num_arg(a, v, 0, 3.6e6); i++; }
        else if (!strcmp(a, "--end-pad") && v) { prm.end_pad_ms = num_arg(a, v, 0, 3.6e6); i++; }
        else if (a[0] == '-' || path) {
            fprintf(stderr, "vad: unexpected argument '%s'%s\n", a, a[0] == '-' && !v ? " (missing value?)" : "");
            usage(stderr);
            return 2;
        } else path = a;
    }
    if (!path) { usage(stderr); return 2; }
    if (model && model_file) { fprintf(stderr, "vad: give --model or --model-file, not both\n"); return 2; }
    if (!model && !model_file) model = "vad";
    if (prm.neg_threshold < 0) prm.neg_threshold = prm.threshold - 0.15f > 0.01f ? prm.threshold - 0.15f : 0.01f;
    if (prm.neg_threshold > prm.threshold) {
        fprintf(stderr, "vad: --neg-threshold (%g) must not exceed --threshold (%g)\n", prm.neg_threshold, prm.threshold);
        return 2;
    }
    g_model_label = model ? model : model_file;

    /* audio first: a bad input file is reported before any model work */
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) { fprintf(stderr, "vad: cannot read %s: %s\n", path, strerror(errno)); return 1; }
    audio a = { 0 };
    char msg[256];
    const char *err = parse_wav(bytes, len, &a, msg, sizeof msg);
    free(bytes);
    if (err) { fprintf(stderr, "vad: %s: %s\n", path, err); return 1; }

    wasi_nn_graph graph;
    wasi_nn_errno e;
    if (model) {
        if ((e = wasi_nn_load_by_name_str(model, &graph))) { nn_fail("load_by_name", e); return 1; }
    } else {
        size_t mlen;
        uint8_t *mbytes = read_file(model_file, &mlen);
        if (!mbytes) { fprintf(stderr, "vad: cannot read model %s: %s\n", model_file, strerror(errno)); return 1; }
        if (mlen > UINT32_MAX) { fprintf(stderr, "vad: model %s is too large\n", model_file); return 1; }
        e = wasi_nn_load_bytes(mbytes, (uint32_t)mlen, WASI_NN_ENCODING_ONNX, WASI_NN_TARGET_CPU, &graph);
        free(mbytes);   /* the host keeps its own copy */
        if (e) { nn_fail("load", e); return 1; }
    }
    wasi_nn_ctx ctx;
    if ((e = wasi_nn_init_execution_context(graph, &ctx))) { nn_fail("init_execution_context", e); return 1; }

    /* silero v5 windows: 512 samples + 64 of context at 16 kHz, 256 + 32 at 8 kHz (both 32 ms + 4 ms) */
    size_t chunk = a.rate == 16000 ? 512 : 256, context = a.rate == 16000 ? 64 : 32;
    size_t nchunks = (a.n + chunk - 1) / chunk;
    float *probs = malloc((nchunks ? nchunks : 1) * sizeof *probs);
    segment *segs = malloc((nchunks ? nchunks : 1) * sizeof *segs);
    if (!probs || !segs) { fprintf(stderr, "vad: out of memory\n"); return 1; }
    if (run_model(ctx, &a, chunk, context, probs)) return 1;
    wasi_nn_finalize_execution_context(ctx);
    wasi_nn_unload(graph);

    if (print_probs) {
        for (size_t i = 0; i < nchunks; i++) printf("%.3f %.7f\n", (double)(i * chunk) / a.rate, probs[i]);
    } else {
        size_t n = segments(probs, nchunks, chunk, a.n, a.rate, &prm, segs);
        for (size_t i = 0; i < n; i++) printf("%.3f %.3f\n", (double)segs[i].start / a.rate, (double)segs[i].end / a.rate);
        fprintf(stderr, "vad: %s: %.3f s at %u Hz, %zu chunks, %zu speech segment%s\n", path, (double)a.n / a.rate,
                (unsigned)a.rate, nchunks, n, n == 1 ? "" : "s");
    }
    free(probs);
    free(segs);
    free(a.samples);
    return 0;
}
