/* ocr.c — WASI guest: PaddleOCR v4 text detection + direction classification + recognition through WASI-NN.
 * Decodes an image with stb_image, finds text boxes (DB post-processing), reads each one, prints text/score/box. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_UTIL_STB_IMAGE
#include "guest_util.h"

#include "wasi_nn.h"

/* PaddleOCR v4 inference defaults (tools/infer/utility.py), so results match the reference pipeline. */
static const float kDetMean[3] = { 0.485f, 0.456f, 0.406f };
static const float kDetStd[3] = { 0.229f, 0.224f, 0.225f };
#define DET_THRESH 0.3f        /* probability -> text pixel */
#define DET_BOX_THRESH 0.6f    /* mean probability inside a box to keep it */
#define DET_UNCLIP 1.5f        /* DB shrinks text regions while training; grow them back by area*ratio/perimeter */
#define DET_MIN_SIDE 3.0f
#define DET_MAX_BOXES 1000
#define REC_H 48
#define REC_MIN_W 320          /* the recogniser's nominal 3x48x320 input: narrower crops are padded to it */
#define REC_MAX_W 3200         /* a sanity bound on very long lines */
/* The recogniser reads far better with some background around the text than from the DB box alone (whose edges
 * touch the glyphs; it then tends to drop spaces): measured on rendered pages with ONNX Runtime, CER fell from 6.8%
 * with no margin to 0.1% with a margin of ~0.25 of the text height above and below and ~0.4 before and after. */
#define CROP_PAD_Y 0.25f
#define CROP_PAD_X 0.4f
#define CLS_W 192
#define CLS_THRESH 0.9f

static const char *prog = "ocr";

static void usage(FILE *out) {
    fprintf(out,
            "usage: ocr [options] IMAGE\n"
            "Finds and reads the text in IMAGE (PNG, JPEG, BMP, PNM) with PaddleOCR models preloaded by the host:\n"
            "  wasmind run --dir DIR::/data --nn-preload det:onnx:cpu:ppocr_det.onnx \\\n"
            "      --nn-preload rec:onnx:cpu:ppocr_rec.onnx --nn-preload cls:onnx:cpu:ppocr_cls.onnx \\\n"
            "      ocr.wasm --keys /data/ppocr_keys_v1.txt /data/image.png\n"
            "Prints one line per text box in reading order: TEXT<TAB>CONFIDENCE<TAB>x1,y1 x2,y2 x3,y3 x4,y4\n"
            "(corners clockwise from the top left, in image pixels).\n"
            "options:\n"
            "  --det NAME        detection model name (default det)\n"
            "  --rec NAME        recognition model name (default rec)\n"
            "  --cls NAME        direction classifier name (default cls); --no-cls skips it\n"
            "  --keys FILE       recogniser dictionary, one character per line (default ppocr_keys_v1.txt)\n"
            "  --side N          limit on the longest side of the detector input (default 960; both sides are\n"
            "                    rounded to multiples of 32)\n"
            "  --min-score S     drop boxes read with a confidence below S (default 0.5)\n"
            "  --pad Y,X         margins added around each box before reading it, as fractions of the text height:\n"
            "                    Y above and below, X before and after (default 0.25,0.4)\n"
            "  --dump-crops DIR  write each upright crop given to the recogniser as DIR/crop_N.ppm (for debugging)\n"
            "  -v, --verbose     print the stages and their sizes on stderr\n");
}

static void die_oom(void) {
    fprintf(stderr, "%s: out of memory\n", prog);
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die_oom();
    return p;
}

static void *xcalloc(size_t n, size_t s) {
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) die_oom();
    return p;
}

/* ---- images ------------------------------------------------------------------------------------------------- */

/* An 8-bit 3-channel image in stb_image's RGB order. */
typedef struct {
    int w, h;
    uint8_t *px;
} image;

/* Bilinear sample at (x, y) in pixel-centre coordinates with replicated borders (OpenCV BORDER_REPLICATE). */
static void sample_bilinear(const image *im, float x, float y, float out[3]) {
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > im->w - 1) x = (float)(im->w - 1);
    if (y > im->h - 1) y = (float)(im->h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < im->w ? x0 + 1 : x0, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *a = im->px + ((size_t)y0 * im->w + x0) * 3, *b = im->px + ((size_t)y0 * im->w + x1) * 3;
    const uint8_t *c = im->px + ((size_t)y1 * im->w + x0) * 3, *d = im->px + ((size_t)y1 * im->w + x1) * 3;
    for (int k = 0; k < 3; k++) {
        float top = a[k] + (b[k] - a[k]) * fx, bot = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bot - top) * fy;
    }
}

/* Resizes src to out_w x out_h the way cv2.resize(INTER_LINEAR) does (half-pixel centres, no antialiasing) and
 * writes it into a planar float tensor of row stride `stride` as (v/255 - mean)/std. Channels go out in BGR order
 * because PaddleOCR's models were trained on OpenCV-decoded (BGR) images. */
static void resize_normalise(const image *src, int out_w, int out_h, float *dst, int stride, size_t plane,
                             const float mean[3], const float std[3]) {
    float sx = (float)src->w / (float)out_w, sy = (float)src->h / (float)out_h;
    for (int oy = 0; oy < out_h; oy++) {
        float fy = ((float)oy + 0.5f) * sy - 0.5f;
        for (int ox = 0; ox < out_w; ox++) {
            float fx = ((float)ox + 0.5f) * sx - 0.5f;
            float rgb[3];
            sample_bilinear(src, fx, fy, rgb);
            for (int c = 0; c < 3; c++) {
                float v = rgb[2 - c] / 255.0f;
                dst[(size_t)c * plane + (size_t)oy * stride + ox] = (v - mean[c]) / std[c];
            }
        }
    }
}

/* ---- geometry ----------------------------------------------------------------------------------------------- */

typedef struct {
    float x, y;
} pt;

/* A text box: corners clockwise from the top left, plus what was read in it. */
typedef struct {
    pt p[4];
    char *text;
    float conf;
    int keep;
} textbox;

static float cross3(pt o, pt a, pt b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

static int cmp_pt(const void *a, const void *b) {
    const pt *p = a, *q = b;
    if (p->x != q->x) return p->x < q->x ? -1 : 1;
    return (p->y > q->y) - (p->y < q->y);
}

/* Convex hull (Andrew's monotone chain), counter-clockwise in y-down coordinates; sorts pts; returns the count. */
static int convex_hull(pt *pts, int n, pt *hull) {
    if (n < 3) {
        memcpy(hull, pts, sizeof *pts * (size_t)n);
        return n;
    }
    qsort(pts, (size_t)n, sizeof *pts, cmp_pt);
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0) k--;
        hull[k++] = pts[i];
    }
    for (int i = n - 2, lo = k + 1; i >= 0; i--) {
        while (k >= lo && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0) k--;
        hull[k++] = pts[i];
    }
    return k - 1;
}

/* A rotated rectangle: centre, unit axis u (v is u turned 90 degrees) and half extents along u and v. */
typedef struct {
    pt c, u;
    float hu, hv;
} rrect;

/* Minimum-area enclosing rectangle of a convex polygon: one of its sides lies along a hull edge. */
static rrect min_area_rect(const pt *hull, int n) {
    rrect best = { { 0, 0 }, { 1, 0 }, 0, 0 };
    float best_area = INFINITY;
    for (int i = 0; i < n; i++) {
        pt a = hull[i], b = hull[(i + 1) % n];
        float dx = b.x - a.x, dy = b.y - a.y, len = sqrtf(dx * dx + dy * dy);
        if (len == 0) continue;
        pt u = { dx / len, dy / len };
        float umin = INFINITY, umax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
        for (int j = 0; j < n; j++) {
            float pu = hull[j].x * u.x + hull[j].y * u.y, pv = -hull[j].x * u.y + hull[j].y * u.x;
            if (pu < umin) umin = pu;
            if (pu > umax) umax = pu;
            if (pv < vmin) vmin = pv;
            if (pv > vmax) vmax = pv;
        }
        float area = (umax - umin) * (vmax - vmin);
        if (area < best_area) {
            best_area = area;
            float cu = (umin + umax) / 2, cv = (vmin + vmax) / 2;
            best.u = u;
            best.c.x = cu * u.x - cv * u.y;
            best.c.y = cu * u.y + cv * u.x;
            best.hu = (umax - umin) / 2;
            best.hv = (vmax - vmin) / 2;
        }
    }
    return best;
}

/* Orders four corners as top-left, top-right, bottom-right, bottom-left: the two leftmost points are the left side,
 * the upper of each pair is on top (PaddleOCR's get_mini_boxes rule, so near-horizontal boxes start top left). */
static void order_corners(pt q[4]) {
    qsort(q, 4, sizeof *q, cmp_pt);
    pt tl = q[0].y <= q[1].y ? q[0] : q[1], bl = q[0].y <= q[1].y ? q[1] : q[0];
    pt tr = q[2].y <= q[3].y ? q[2] : q[3], br = q[2].y <= q[3].y ? q[3] : q[2];
    q[0] = tl, q[1] = tr, q[2] = br, q[3] = bl;
}

static void rrect_corners(const rrect *r, pt q[4]) {
    pt v = { -r->u.y, r->u.x };
    for (int i = 0; i < 4; i++) {
        float su = (i == 0 || i == 3) ? -r->hu : r->hu, sv = i < 2 ? -r->hv : r->hv;
        q[i].x = r->c.x + su * r->u.x + sv * v.x;
        q[i].y = r->c.y + su * r->u.y + sv * v.y;
    }
    order_corners(q);
}

static int inside_convex_quad(const pt q[4], float x, float y) {
    int pos = 0, neg = 0;
    for (int i = 0; i < 4; i++) {
        float c = cross3(q[i], q[(i + 1) % 4], (pt){ x, y });
        pos |= c > 0;
        neg |= c < 0;
    }
    return !(pos && neg);
}

static float dist(pt a, pt b) { return hypotf(a.x - b.x, a.y - b.y); }

/* ---- detection post-processing (DB) ----------------------------------------------------------------------- */

/* Turns the probability map (pw x ph) into boxes in image coordinates (iw x ih): threshold, 8-connected regions,
 * min-area rectangle of each, mean probability inside it as the score, then the DB "unclip" growth. */
static int db_boxes(const float *prob, int pw, int ph, int iw, int ih, textbox *out, int max_out) {
    size_t n = (size_t)pw * ph;
    int32_t *label = xcalloc(n, sizeof *label);   /* -1 background, 0 text not yet visited, 1 visited */
    int32_t *queue = xmalloc(n * sizeof *queue);
    int *rmin = xmalloc(sizeof *rmin * (size_t)ph), *rmax = xmalloc(sizeof *rmax * (size_t)ph);
    pt *pts = xmalloc(sizeof *pts * 2 * (size_t)ph), *hull = xmalloc(sizeof *hull * (2 * (size_t)ph + 1));
    int nbox = 0;
    for (size_t i = 0; i < n; i++) label[i] = prob[i] > DET_THRESH ? 0 : -1;
    for (size_t seed = 0; seed < n && nbox < max_out; seed++) {
        if (label[seed] != 0) continue;
        /* flood fill one region; only the leftmost and rightmost pixel of each row matter for its convex hull */
        size_t qh = 0, qt = 0;
        queue[qt++] = (int32_t)seed;
        label[seed] = 1;
        /* the seed is the region's first pixel in raster order, so no pixel of the region lies above its row */
        int ymin = (int)(seed / (size_t)pw), ymax = ymin;
        rmin[ymin] = pw, rmax[ymin] = -1;
        while (qh < qt) {
            int32_t p = queue[qh++];
            int x = p % pw, y = p / pw;
            for (; ymax < y; ymax++) rmin[ymax + 1] = pw, rmax[ymax + 1] = -1;
            if (x < rmin[y]) rmin[y] = x;
            if (x > rmax[y]) rmax[y] = x;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= pw || ny >= ph) continue;
                    size_t q = (size_t)ny * pw + nx;
                    if (label[q] == 0) {
                        label[q] = 1;
                        queue[qt++] = (int32_t)q;
                    }
                }
        }
        int np = 0;
        for (int r = ymin; r <= ymax; r++) {
            if (rmax[r] < 0) continue;
            pts[np++] = (pt){ (float)rmin[r], (float)r };
            if (rmax[r] != rmin[r]) pts[np++] = (pt){ (float)rmax[r], (float)r };
        }
        int nh = convex_hull(pts, np, hull);
        if (nh < 3) continue;
        rrect rr = min_area_rect(hull, nh);
        if (2 * fminf(rr.hu, rr.hv) < DET_MIN_SIDE) continue;
        pt q[4];
        rrect_corners(&rr, q);

        /* score: mean probability over the pixels inside the (unexpanded) rectangle */
        float bx0 = q[0].x, bx1 = q[0].x, by0 = q[0].y, by1 = q[0].y;
        for (int i = 1; i < 4; i++) {
            bx0 = fminf(bx0, q[i].x), bx1 = fmaxf(bx1, q[i].x);
            by0 = fminf(by0, q[i].y), by1 = fmaxf(by1, q[i].y);
        }
        int x0 = (int)fmaxf(0, floorf(bx0)), x1 = (int)fminf((float)(pw - 1), ceilf(bx1));
        int y0 = (int)fmaxf(0, floorf(by0)), y1 = (int)fminf((float)(ph - 1), ceilf(by1));
        double sum = 0;
        long cnt = 0;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
                if (inside_convex_quad(q, (float)x, (float)y)) sum += prob[(size_t)y * pw + x], cnt++;
        if (cnt == 0 || sum / (double)cnt < DET_BOX_THRESH) continue;

        /* unclip: offsetting a rectangle by d (rounded joins) has as its min-area box the rectangle grown by d */
        float w = 2 * rr.hu, h = 2 * rr.hv;
        float d = w * h * DET_UNCLIP / (2 * (w + h));
        rr.hu += d, rr.hv += d;
        if (2 * fminf(rr.hu, rr.hv) < DET_MIN_SIDE + 2) continue;
        rrect_corners(&rr, q);

        textbox *b = &out[nbox];
        memset(b, 0, sizeof *b);
        for (int i = 0; i < 4; i++) {
            float x = roundf(q[i].x * (float)iw / (float)pw), y = roundf(q[i].y * (float)ih / (float)ph);
            b->p[i].x = fminf(fmaxf(x, 0), (float)(iw - 1));
            b->p[i].y = fminf(fmaxf(y, 0), (float)(ih - 1));
        }
        order_corners(b->p);
        if ((int)dist(b->p[0], b->p[1]) <= 3 || (int)dist(b->p[0], b->p[3]) <= 3) continue;
        b->keep = 1;
        nbox++;
    }
    free(label), free(queue), free(rmin), free(rmax), free(pts), free(hull);
    return nbox;
}

/* ---- cropping --------------------------------------------------------------------------------------------- */

/* Warps the quadrilateral q of src to an upright w x h image: the projective map sends (0,0),(w,0),(w,h),(0,h)
 * to q[0..3] (square-to-quad in closed form), sampled bilinearly at integer output pixels like cv2.warpPerspective. */
static image warp_quad(const image *src, const pt q[4], int w, int h) {
    float sx = q[0].x - q[1].x + q[2].x - q[3].x, sy = q[0].y - q[1].y + q[2].y - q[3].y;
    float a, b, c = q[0].x, d, e, f = q[0].y, g = 0, k = 0;
    if (fabsf(sx) < 1e-6f && fabsf(sy) < 1e-6f) {
        a = q[1].x - q[0].x, b = q[3].x - q[0].x, d = q[1].y - q[0].y, e = q[3].y - q[0].y;
    } else {
        float dx1 = q[1].x - q[2].x, dx2 = q[3].x - q[2].x, dy1 = q[1].y - q[2].y, dy2 = q[3].y - q[2].y;
        float den = dx1 * dy2 - dx2 * dy1;
        if (fabsf(den) < 1e-12f) den = 1e-12f;
        g = (sx * dy2 - dx2 * sy) / den;
        k = (dx1 * sy - sx * dy1) / den;
        a = q[1].x - q[0].x + g * q[1].x, b = q[3].x - q[0].x + k * q[3].x;
        d = q[1].y - q[0].y + g * q[1].y, e = q[3].y - q[0].y + k * q[3].y;
    }
    image out = { w, h, xmalloc((size_t)w * h * 3) };
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float u = (float)x / (float)w, v = (float)y / (float)h;
            float den = g * u + k * v + 1;
            float rgb[3];
            sample_bilinear(src, (a * u + b * v + c) / den, (d * u + e * v + f) / den, rgb);
            uint8_t *o = out.px + ((size_t)y * w + x) * 3;
            for (int ch = 0; ch < 3; ch++) o[ch] = (uint8_t)(rgb[ch] + 0.5f);
        }
    return out;
}

/* Grows a box by margins along its own axes: `along` before and after the text, `across` above and below. */
static void pad_quad(const pt q[4], float along, float across, pt out[4]) {
    pt u = { (q[1].x - q[0].x + q[2].x - q[3].x) / 2, (q[1].y - q[0].y + q[2].y - q[3].y) / 2 };
    pt v = { (q[3].x - q[0].x + q[2].x - q[1].x) / 2, (q[3].y - q[0].y + q[2].y - q[1].y) / 2 };
    float lu = hypotf(u.x, u.y), lv = hypotf(v.x, v.y);
    if (lu > 0) u.x /= lu, u.y /= lu;
    if (lv > 0) v.x /= lv, v.y /= lv;
    static const float su[4] = { -1, 1, 1, -1 }, sv[4] = { -1, -1, 1, 1 };
    for (int i = 0; i < 4; i++) {
        out[i].x = q[i].x + su[i] * along * u.x + sv[i] * across * v.x;
        out[i].y = q[i].y + su[i] * along * u.y + sv[i] * across * v.y;
    }
}

/* Rotates by 90 degrees counter-clockwise (numpy.rot90): a tall crop is most likely vertical text. */
static image rotate90(const image *src) {
    image out = { src->h, src->w, xmalloc((size_t)src->w * src->h * 3) };
    for (int y = 0; y < out.h; y++)
        for (int x = 0; x < out.w; x++)
            memcpy(out.px + ((size_t)y * out.w + x) * 3, src->px + ((size_t)x * src->w + (src->w - 1 - y)) * 3, 3);
    return out;
}

static void rotate180(image *im) {
    size_t n = (size_t)im->w * im->h;
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t[3];
        memcpy(t, im->px + i * 3, 3);
        memcpy(im->px + i * 3, im->px + (n - 1 - i) * 3, 3);
        memcpy(im->px + (n - 1 - i) * 3, t, 3);
    }
}

/* Writes a binary PPM (P6): the simplest format other tools read, for inspecting crops. */
static int write_ppm(const char *path, const image *im) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fprintf(f, "P6\n%d %d\n255\n", im->w, im->h);
    size_t n = (size_t)im->w * im->h * 3;
    int rc = fwrite(im->px, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

/* The box cut out of the image with margins mx (along its top edge) and my (along its left edge), upright. */
static image upright_crop(const image *img, const pt box[4], int cw, int ch, float mx, float my, int tall) {
    pt q[4];
    pad_quad(box, mx, my, q);
    image crop = warp_quad(img, q, cw + 2 * (int)roundf(mx), ch + 2 * (int)roundf(my));
    if (tall) {
        image r = rotate90(&crop);
        free(crop.px);
        crop = r;
    }
    return crop;
}

/* ---- WASI-NN -------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    wasi_nn_graph graph;
    wasi_nn_ctx ctx;
} model;

static int nn_fail(const char *what, const model *m, wasi_nn_errno e) {
    if (e == WASI_NN_NOT_FOUND)
        fprintf(stderr, "%s: no model named '%s' (preload it: wasmind run --nn-preload %s:onnx:cpu:FILE.onnx ...)\n",
                prog, m->name, m->name);
    else
        fprintf(stderr, "%s: %s of model '%s' failed: %s (%d)\n", prog, what, m->name, wasi_nn_strerror(e), (int)e);
    return -1;
}

static int model_open(model *m) {
    wasi_nn_errno e = wasi_nn_load_by_name_str(m->name, &m->graph);
    if (e != WASI_NN_SUCCESS) return nn_fail("loading", m, e);
    e = wasi_nn_init_execution_context(m->graph, &m->ctx);
    if (e != WASI_NN_SUCCESS) return nn_fail("creating a context", m, e);
    return 0;
}

/* Runs the model on one float input [dims] and returns its first output (float32), with its element count. */
static float *model_run(model *m, const uint32_t dims[4], const float *input, size_t *count) {
    wasi_nn_tensor t = wasi_nn_tensor_f32(dims, 4, input);
    wasi_nn_errno e = wasi_nn_set_input(m->ctx, 0, &t);
    if (e != WASI_NN_SUCCESS) return nn_fail("set_input", m, e), NULL;
    e = wasi_nn_compute(m->ctx);
    if (e != WASI_NN_SUCCESS) return nn_fail("compute", m, e), NULL;
    /* a zero-sized buffer gives too_large and the size needed */
    uint32_t need = 0;
    float probe;
    e = wasi_nn_get_output(m->ctx, 0, (uint8_t *)&probe, 0, &need);
    if (e != WASI_NN_SUCCESS && e != WASI_NN_TOO_LARGE) return nn_fail("get_output", m, e), NULL;
    if (need == 0 || need % sizeof(float)) {
        fprintf(stderr, "%s: model '%s' gave %u output bytes, not float32\n", prog, m->name, need);
        return NULL;
    }
    float *out = xmalloc(need);
    uint32_t got = 0;
    e = wasi_nn_get_output(m->ctx, 0, (uint8_t *)out, need, &got);
    if (e != WASI_NN_SUCCESS) return free(out), nn_fail("get_output", m, e), NULL;
    *count = got / sizeof(float);
    return out;
}

/* ---- dictionary ------------------------------------------------------------------------------------------ */

/* The CTC classes: 0 is the blank, 1..n are the dictionary's lines, n+1 is a space (PaddleOCR use_space_char). */
typedef struct {
    char **sym;
    int n;     /* classes including blank and space */
} dictionary;

static int load_dictionary(const char *path, dictionary *dict) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open dictionary %s: %s (give it with --keys FILE)\n", prog, path, strerror(errno));
        return -1;
    }
    size_t cap = 8192;
    dict->sym = xmalloc(sizeof *dict->sym * cap);
    dict->sym[0] = "";
    dict->n = 1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        line[l] = 0;
        if ((size_t)dict->n + 2 > cap) {
            char **ns = realloc(dict->sym, sizeof *ns * (cap *= 2));
            if (!ns) die_oom();
            dict->sym = ns;
        }
        dict->sym[dict->n] = xmalloc(l + 1);
        memcpy(dict->sym[dict->n++], line, l + 1);
    }
    int err = ferror(f);
    fclose(f);
    if (err || dict->n < 2) {
        fprintf(stderr, "%s: cannot read dictionary %s%s\n", prog, path, err ? "" : ": it is empty");
        return -1;
    }
    dict->sym[dict->n++] = " ";
    return 0;
}

/* ---- recognition ------------------------------------------------------------------------------------------ */

/* Height 48, width by aspect ratio, normalised to [-1, 1] and padded with zeros on the right to pad_w. */
static float *crop_tensor(const image *crop, int max_w, int pad_w, uint32_t dims[4]) {
    int w = (int)ceilf((float)REC_H * (float)crop->w / (float)crop->h);
    if (w > max_w) w = max_w;
    if (w < 1) w = 1;
    if (pad_w < w) pad_w = w;
    size_t plane = (size_t)REC_H * pad_w;
    float *t = xcalloc(3 * plane, sizeof *t);
    static const float half[3] = { 0.5f, 0.5f, 0.5f };
    resize_normalise(crop, w, REC_H, t, pad_w, plane, half, half);
    dims[0] = 1, dims[1] = 3, dims[2] = REC_H, dims[3] = (uint32_t)pad_w;
    return t;
}

/* Chance that an upright crop is upside down. The classifier's input is 48x192, so a long line squeezed into it
 * loses its letter shapes (a clean line scored 0.94 "upside down"): long crops are cut into up to CLS_MAX_WIN
 * windows of at most 4:1, classified in one batch, and the scores averaged. Returns -1 on an error (reported). */
#define CLS_MAX_WIN 8
static float upside_down(model *cls, const image *crop) {
    float ratio = (float)crop->w / (float)crop->h;
    int k = ratio > (float)CLS_W / REC_H ? (int)ceilf(ratio * REC_H / CLS_W) : 1;
    if (k > CLS_MAX_WIN) k = CLS_MAX_WIN;
    size_t plane = (size_t)REC_H * CLS_W;
    float *t = xcalloc(3 * plane * (size_t)k, sizeof *t);
    static const float half[3] = { 0.5f, 0.5f, 0.5f };
    for (int j = 0; j < k; j++) {
        int x0 = (int)((long)crop->w * j / k), x1 = (int)((long)crop->w * (j + 1) / k);
        image win = { x1 - x0, crop->h, xmalloc((size_t)(x1 - x0) * crop->h * 3) };
        for (int y = 0; y < crop->h; y++)
            memcpy(win.px + (size_t)y * win.w * 3, crop->px + ((size_t)y * crop->w + x0) * 3, (size_t)win.w * 3);
        int w = (int)ceilf((float)REC_H * (float)win.w / (float)win.h);
        if (w > CLS_W) w = CLS_W;
        if (w < 1) w = 1;
        resize_normalise(&win, w, REC_H, t + 3 * plane * (size_t)j, CLS_W, plane, half, half);
        free(win.px);
    }
    uint32_t dims[4] = { (uint32_t)k, 3, REC_H, CLS_W };
    size_t n;
    float *p = model_run(cls, dims, t, &n);
    free(t);
    if (!p) return -1;
    if (n != 2 * (size_t)k) {
        fprintf(stderr, "%s: model '%s' gave %zu scores for %d crops, not 2 each: is it the direction classifier?\n",
                prog, cls->name, n, k);
        free(p);
        return -1;
    }
    float sum = 0;
    for (int j = 0; j < k; j++) sum += p[2 * j + 1];
    free(p);
    return sum / (float)k;
}

/* Greedy CTC: best class per time step, repeats merged, blanks dropped; confidence = mean of the kept maxima. */
static char *ctc_decode(const float *probs, size_t steps, int nclass, const dictionary *dict, float *conf) {
    size_t cap = 64, len = 0;
    char *text = xmalloc(cap);
    double sum = 0;
    int kept = 0, prev = -1;
    for (size_t t = 0; t < steps; t++) {
        const float *p = probs + t * (size_t)nclass;
        int best = 0;
        for (int c = 1; c < nclass; c++)
            if (p[c] > p[best]) best = c;
        if (best != 0 && best != prev) {
            const char *s = dict->sym[best];
            size_t l = strlen(s);
            while (len + l + 1 > cap) {
                char *nt = realloc(text, cap *= 2);
                if (!nt) die_oom();
                text = nt;
            }
            memcpy(text + len, s, l);
            len += l;
            sum += p[best];
            kept++;
        }
        prev = best;
    }
    text[len] = 0;
    *conf = kept ? (float)(sum / kept) : 0.0f;
    return text;
}

/* ---- reading order ------------------------------------------------------------------------------------------ */

/* A box's centre and its text height (the mean length of its left and right sides), which unlike its
 * axis-aligned extent stays small for slanted lines. */
static float box_cy(const textbox *b) { return (b->p[0].y + b->p[1].y + b->p[2].y + b->p[3].y) / 4; }
static float box_cx(const textbox *b) { return (b->p[0].x + b->p[1].x + b->p[2].x + b->p[3].x) / 4; }
static float box_h(const textbox *b) { return (dist(b->p[0], b->p[3]) + dist(b->p[1], b->p[2])) / 2; }

static int cmp_by_centre_y(const void *a, const void *b) {
    float p = box_cy(a), q = box_cy(b);
    return (p > q) - (p < q);
}

static int cmp_by_centre_x(const void *a, const void *b) {
    float p = box_cx(a), q = box_cx(b);
    return (p > q) - (p < q);
}

/* Groups boxes into lines, top to bottom, and sorts each line left to right. A box joins the line when its centre
 * is within half a text height of the line's first box, measured at that box's centre along the first box's slope
 * (so words of one slanted line stay together while the next line, a line spacing away, does not). */
static void reading_order(textbox *b, int n) {
    qsort(b, (size_t)n, sizeof *b, cmp_by_centre_y);
    for (int i = 0; i < n;) {
        const textbox *f = &b[i];
        float dx = (f->p[1].x - f->p[0].x + f->p[2].x - f->p[3].x) / 2;
        float slope = fabsf(dx) > 1e-3f ? (f->p[1].y - f->p[0].y + f->p[2].y - f->p[3].y) / 2 / dx : 0;
        if (fabsf(slope) > 1) slope = 0;   /* a vertical box: lines are its columns, take them as they come */
        int j = i + 1;
        /* members move up next to the first box, keeping the order of the rest */
        for (int k = i + 1; k < n; k++) {
            float expect = box_cy(f) + slope * (box_cx(&b[k]) - box_cx(f));
            if (fabsf(box_cy(&b[k]) - expect) < 0.5f * fminf(box_h(f), box_h(&b[k]))) {
                textbox t = b[k];
                memmove(&b[j + 1], &b[j], sizeof *b * (size_t)(k - j));
                b[j++] = t;
            }
        }
        qsort(b + i, (size_t)(j - i), sizeof *b, cmp_by_centre_x);
        i = j;
    }
}

/* ---- main ------------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    const char *image_path = NULL, *keys = "ppocr_keys_v1.txt", *dump_dir = NULL;
    model det = { "det", 0, 0 }, rec = { "rec", 0, 0 }, cls = { "cls", 0, 0 };
    int use_cls = 1, side = 960, verbose = 0;
    float min_score = 0.5f, pad_x = CROP_PAD_X, pad_y = CROP_PAD_Y;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = 1;
        else if (!strcmp(a, "--no-cls")) use_cls = 0;
        else if (!strcmp(a, "--det") && v) det.name = v, i++;
        else if (!strcmp(a, "--rec") && v) rec.name = v, i++;
        else if (!strcmp(a, "--cls") && v) cls.name = v, i++;
        else if (!strcmp(a, "--keys") && v) keys = v, i++;
        else if (!strcmp(a, "--dump-crops") && v) dump_dir = v, i++;
        else if (!strcmp(a, "--side") && v) side = atoi(v), i++;
        else if (!strcmp(a, "--min-score") && v) min_score = strtof(v, NULL), i++;
        else if (!strcmp(a, "--pad") && v && sscanf(v, "%f,%f", &pad_y, &pad_x) == 2) i++;
        else if ((a[0] == '-' && a[1]) || image_path) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", prog, a);
            usage(stderr);
            return 2;
        } else image_path = a;
    }
    if (!image_path) { usage(stderr); return 2; }
    if (side < 32 || side > 8192) { fprintf(stderr, "%s: --side must be 32..8192\n", prog); return 2; }

    /* the cheap checks first, so a wrong path is reported before any model runs */
    FILE *f = fopen(image_path, "rb");
    if (!f) { fprintf(stderr, "%s: cannot open %s: %s\n", prog, image_path, strerror(errno)); return 1; }
    image img;
    int comp;
    img.px = stbi_load_from_file(f, &img.w, &img.h, &comp, 3);
    fclose(f);
    if (!img.px) {
        fprintf(stderr, "%s: cannot read %s as an image (%s); PNG, JPEG, BMP or PNM expected\n", prog, image_path,
                stbi_failure_reason());
        return 1;
    }
    dictionary dict;
    if (load_dictionary(keys, &dict)) return 1;
    if (model_open(&det) || model_open(&rec) || (use_cls && model_open(&cls))) return 1;

    /* detection: longest side at most `side`, both sides rounded to multiples of 32 (the network downsamples 32x) */
    float ratio = img.w > img.h ? (float)side / (float)img.w : (float)side / (float)img.h;
    if (ratio > 1) ratio = 1;
    int dw = (int)roundf((float)img.w * ratio / 32) * 32, dh = (int)roundf((float)img.h * ratio / 32) * 32;
    if (dw < 32) dw = 32;
    if (dh < 32) dh = 32;
    size_t plane = (size_t)dw * dh;
    float *dinput = xmalloc(3 * plane * sizeof *dinput);
    resize_normalise(&img, dw, dh, dinput, dw, plane, kDetMean, kDetStd);
    uint32_t ddims[4] = { 1, 3, (uint32_t)dh, (uint32_t)dw };
    size_t nprob;
    float *prob = model_run(&det, ddims, dinput, &nprob);
    free(dinput);
    if (!prob) return 1;
    if (nprob != plane) {
        fprintf(stderr, "%s: model '%s' gave %zu values for a %dx%d input, not a 1x1x%dx%d map: is it a detector?\n",
                prog, det.name, nprob, dw, dh, dh, dw);
        return 1;
    }
    textbox *boxes = xmalloc(sizeof *boxes * DET_MAX_BOXES);
    int nbox = db_boxes(prob, dw, dh, img.w, img.h, boxes, DET_MAX_BOXES);
    free(prob);
    if (verbose)
        fprintf(stderr, "%s: %s %dx%d, detector input %dx%d, %d boxes\n", prog, image_path, img.w, img.h, dw, dh, nbox);

    for (int i = 0; i < nbox; i++) {
        textbox *b = &boxes[i];
        int cw = (int)fmaxf(dist(b->p[0], b->p[1]), dist(b->p[2], b->p[3]));
        int ch = (int)fmaxf(dist(b->p[0], b->p[3]), dist(b->p[1], b->p[2]));
        int tall = (float)ch >= 1.5f * (float)cw;   /* most likely vertical text: read it turned 90 degrees */
        uint32_t dims[4];
        size_t n;
        int flip = 0;
        if (use_cls) {
            /* the classifier sees the tight box, as it was trained to: with margins, long lines squeezed into its
             * 48x192 input lose too much detail (an upside-down line scored 0.87 instead of 1.0) */
            image tight = upright_crop(&img, b->p, cw, ch, 0, 0, tall);
            float up = upside_down(&cls, &tight);
            free(tight.px);
            if (up < 0) return 1;
            flip = up > CLS_THRESH;
            if (verbose) fprintf(stderr, "%s: box %d %dx%d, upside down %.3f\n", prog, i, cw, ch, up);
        }
        /* margins scale with the text height: the short side of the box */
        float s = (float)(cw < ch ? cw : ch), mx = (tall ? pad_y : pad_x) * s, my = (tall ? pad_x : pad_y) * s;
        image crop = upright_crop(&img, b->p, cw, ch, mx, my, tall);
        if (flip) rotate180(&crop);
        if (dump_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/crop_%d.ppm", dump_dir, i);
            if (write_ppm(path, &crop)) fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        }
        float *t = crop_tensor(&crop, REC_MAX_W, REC_MIN_W, dims);
        float *p = model_run(&rec, dims, t, &n);
        free(t);
        free(crop.px);
        if (!p) return 1;
        if (n % (size_t)dict.n) {
            fprintf(stderr, "%s: model '%s' output (%zu values) is not a multiple of the dictionary's %d classes: "
                    "wrong --keys or not the recogniser?\n", prog, rec.name, n, dict.n);
            return 1;
        }
        b->text = ctc_decode(p, n / (size_t)dict.n, dict.n, &dict, &b->conf);
        /* the margins sometimes make the recogniser see a space before or after the text: trim it */
        size_t tl = strlen(b->text), lead = strspn(b->text, " ");
        while (tl > lead && b->text[tl - 1] == ' ') tl--;
        memmove(b->text, b->text + lead, tl - lead);
        b->text[tl - lead] = 0;
        free(p);
        b->keep = b->text[0] && b->conf >= min_score;
    }

    reading_order(boxes, nbox);
    for (int i = 0; i < nbox; i++) {
        const textbox *b = &boxes[i];
        if (!b->keep) continue;
        printf("%s\t%.4f\t%d,%d %d,%d %d,%d %d,%d\n", b->text, b->conf, (int)b->p[0].x, (int)b->p[0].y,
               (int)b->p[1].x, (int)b->p[1].y, (int)b->p[2].x, (int)b->p[2].y, (int)b->p[3].x, (int)b->p[3].y);
    }
    return 0;
}
