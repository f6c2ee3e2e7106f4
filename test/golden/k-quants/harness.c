// ggml's reference K-quant codecs, run from libggml-base.so on files (used by make-golden.ts only).
// usage: harness q|d TYPE IN OUT N   (TYPE: q2_K ... q8_K; q: floats -> blocks, d: blocks -> floats)
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*quantize_fn)(const float *, void *, int64_t);
typedef void (*dequantize_fn)(const void *, float *, int64_t);

static size_t block_bytes(const char *t) {
  static const char *names[] = {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K"};
  static const size_t sizes[] = {84, 110, 144, 176, 210, 292};
  for (int i = 0; i < 6; i++) if (!strcmp(t, names[i])) return sizes[i];
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: harness q|d TYPE IN OUT N\n"); return 1; }
  void *lib = dlopen(getenv("GGML_BASE"), RTLD_NOW);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  const char *type = argv[2];
  const int64_t n = atoll(argv[5]);
  const size_t bytes = (size_t)(n / 256) * block_bytes(type);
  char name[64];
  FILE *in = fopen(argv[3], "rb"), *out = fopen(argv[4], "wb");
  if (!in || !out || !bytes || n % 256) { fprintf(stderr, "bad arguments\n"); return 1; }
  if (argv[1][0] == 'q') {
    snprintf(name, sizeof name, "quantize_row_%s_ref", type);
    quantize_fn q = (quantize_fn)dlsym(lib, name);
    float *x = malloc(n * sizeof(float));
    void *y = calloc(1, bytes); // zeroed: ggml leaves Q8_K bsums of all-zero blocks unwritten
    if (!q || fread(x, sizeof(float), n, in) != (size_t)n) return 2;
    q(x, y, n);
    fwrite(y, 1, bytes, out);
  } else {
    snprintf(name, sizeof name, "dequantize_row_%s", type);
    dequantize_fn d = (dequantize_fn)dlsym(lib, name);
    void *x = malloc(bytes);
    float *y = malloc(n * sizeof(float));
    if (!d || fread(x, 1, bytes, in) != bytes) return 2;
    d(x, y, n);
    fwrite(y, sizeof(float), n, out);
  }
  return fclose(out) ? 3 : 0;
}
