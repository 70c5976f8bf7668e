// resize.c — benchmark guest: AI image preprocessing: bilinear resize of a u8 RGB (HWC) image to 224x224 + normalise to float CHW.
// run(n) preprocesses n frames (crop size varies per frame, so weights are recomputed) and returns a checksum of the tensors.
#include <stdint.h>
#if defined(__wasm__)
#define EXPORT __attribute__((export_name("run")))
#else
#define EXPORT
#endif

#define SRC_W 640
#define SRC_H 480
#define DST 224
static uint8_t src[SRC_H * SRC_W * 3];
static float rowbuf[SRC_W * 3];          /* vertically blended source row, HWC */
static float out[3 * DST * DST];         /* normalised tensor, CHW */
static int32_t xi0[DST], xi1[DST];
static float xw[DST];

static const float mean[3] = {0.485f, 0.456f, 0.406f};
static const float inv_std[3] = {1.0f / 0.229f, 1.0f / 0.224f, 1.0f / 0.225f};

/* Half-pixel-centre source coordinate (align_corners=false), clamped to the image. */
static void coord(int d, int src_len, int32_t *i0, int32_t *i1, float *w) {
  float s = ((float)d + 0.5f) * ((float)src_len / (float)DST) - 0.5f;
  if (s < 0.0f) s = 0.0f;
  int32_t i = (int32_t)s;
  if (i > src_len - 1) i = src_len - 1;
  *i0 = i;
  *i1 = i + 1 < src_len ? i + 1 : src_len - 1;
  *w = s - (float)i;
}

__attribute__((noinline)) static void preprocess(int crop_w, int crop_h) {
  for (int dx = 0; dx < DST; dx++) coord(dx, crop_w, &xi0[dx], &xi1[dx], &xw[dx]);
  float scale[3], bias[3];
  for (int c = 0; c < 3; c++) { scale[c] = inv_std[c] * (1.0f / 255.0f); bias[c] = -mean[c] * inv_std[c]; }
  const int n = crop_w * 3;
  for (int dy = 0; dy < DST; dy++) {
    int32_t y0, y1; float wy;
    coord(dy, crop_h, &y0, &y1, &wy);
    const uint8_t *r0 = src + (uint32_t)y0 * SRC_W * 3, *r1 = src + (uint32_t)y1 * SRC_W * 3;
    float wy0 = 1.0f - wy;
    /* Vertical pass: contiguous u8 -> f32 blend of two rows (the vectorisable bulk of the work). */
    for (int i = 0; i < n; i++) rowbuf[i] = (float)r0[i] * wy0 + (float)r1[i] * wy;
    /* Horizontal pass + normalisation into CHW planes. */
    float *o = out + dy * DST;
    for (int dx = 0; dx < DST; dx++) {
      const float *p0 = rowbuf + xi0[dx] * 3, *p1 = rowbuf + xi1[dx] * 3;
      float wx = xw[dx], wx0 = 1.0f - wx;
      for (int c = 0; c < 3; c++)
        o[c * DST * DST + dx] = (p0[c] * wx0 + p1[c] * wx) * scale[c] + bias[c];
    }
  }
}

EXPORT int32_t run(int32_t n) {
  uint32_t s = 0x2545f491u;
  for (int y = 0; y < SRC_H; y++)
    for (int x = 0; x < SRC_W; x++) {
      s ^= s << 13; s ^= s >> 17; s ^= s << 5;
      uint8_t *p = src + (y * SRC_W + x) * 3;  /* gradients plus noise, so neighbouring pixels correlate */
      p[0] = (uint8_t)(x * 255 / SRC_W + (s & 15));
      p[1] = (uint8_t)(y * 255 / SRC_H + ((s >> 4) & 15));
      p[2] = (uint8_t)((x + y) * 127 / (SRC_W + SRC_H) + ((s >> 8) & 63));
    }
  uint32_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    src[(uint32_t)(r * 7919) % sizeof src] += 1;
    preprocess(SRC_W - (r & 7) * 16, SRC_H - (r & 3) * 12);
    for (int i = r & 15; i < 3 * DST * DST; i += 61) sum = sum * 33u + (uint32_t)(int32_t)(out[i] * 4096.0f);
  }
  return (int32_t)sum;
}
