// Runs one of ggml's activation packers on a file of floats, from a chosen CPU library of the prebuilt
// reference binary (libggml-cpu-<variant>.so) or from its portable reference code (libggml-base.so).
// Built and driven by ggml-cpu.ts; never part of Hearth.
//
// usage: ggml-cpu-harness CPU_LIB BASE_LIB OP IN OUT N
//   OP: q8_0 | q8_1 | q8_K | bf16      the CPU library's quantize_row_* / ggml_cpu_fp32_to_bf16
//       q8_0_ref | q8_1_ref | q8_K_ref | bf16_ref   libggml-base.so's reference versions
// exit 77: the CPU library refuses this CPU (ggml_backend_score() == 0); its code is never called then.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*row_fn)(const float *, void *, int64_t);

static size_t out_bytes(const char *op, int64_t n) {
  if (!strncmp(op, "q8_0", 4)) return (size_t)(n / 32) * 34;
  if (!strncmp(op, "q8_1", 4)) return (size_t)(n / 32) * 36;
  if (!strncmp(op, "q8_K", 4)) return (size_t)(n / 256) * 292;
  if (!strncmp(op, "bf16", 4)) return (size_t)n * 2;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: ggml-cpu-harness CPU_LIB BASE_LIB OP IN OUT N\n"); return 1; }
  const char *op = argv[3];
  const int64_t n = atoll(argv[6]);
  const size_t bytes = out_bytes(op, n);
  if (!bytes || n % 256) { fprintf(stderr, "bad op %s or length %lld\n", op, (long long)n); return 1; }
  // The CPU library links against libggml-base.so by name: load that one first, globally.
  void *base = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
  if (!base) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  void *cpu = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!cpu) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  int (*score)(void) = (int (*)(void))dlsym(cpu, "ggml_backend_score");
  if (score && score() == 0) return 77;
  void (*init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
  if (init) init();

  const int ref = strstr(op, "_ref") != NULL;
  char name[64];
  if (!strncmp(op, "bf16", 4)) snprintf(name, sizeof name, "%s", ref ? "ggml_fp32_to_bf16_row_ref" : "ggml_cpu_fp32_to_bf16");
  else snprintf(name, sizeof name, ref ? "quantize_row_%.4s_ref" : "quantize_row_%.4s", op);
  row_fn fn = (row_fn)dlsym(ref ? base : cpu, name);
  if (!fn) { fprintf(stderr, "%s not found\n", name); return 1; }

  float *x = malloc((size_t)n * sizeof(float));
  void *y = calloc(1, bytes);
  FILE *in = fopen(argv[4], "rb");
  if (!in || fread(x, sizeof(float), (size_t)n, in) != (size_t)n) { fprintf(stderr, "cannot read %s\n", argv[4]); return 1; }
  fclose(in);
  fn(x, y, n);
  FILE *out = fopen(argv[5], "wb");
  if (!out || fwrite(y, 1, bytes, out) != bytes || fclose(out)) { fprintf(stderr, "cannot write %s\n", argv[5]); return 1; }
  return 0;
}
