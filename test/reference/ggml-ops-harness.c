// Runs one ggml op through a one-node graph on the CPU library of the prebuilt reference binary, on floats from a
// file, so Hearth's reference ops can be checked against ggml's. Declares the few ggml entry points it uses
// (the binary ships no headers). Built and driven by ggml-ops.ts; never part of Hearth.
//
// usage: ggml-ops-harness CPU_LIB BASE_LIB OP IN OUT N ROWS P
//   x is [ROWS, N] (N innermost). IN holds x, then the op's other inputs:
//   norm        ggml_norm(x, eps=P) * w + b      IN: x, w[N], b[N]
//   gelu        ggml_gelu(x)                     IN: x
//   gelu_erf    ggml_gelu_erf(x)                 IN: x
//   geglu       ggml_geglu_split(x, up)          IN: x, up[ROWS, N]
//   soft_max    ggml_soft_max_ext(x, mask, scale=P, max_bias=0)   IN: x, mask[ROWS, N]
//   softcap     ggml_scale(ggml_tanh(ggml_scale(x, 1/P)), P)      IN: x
// exit 77: the CPU library refuses this CPU (ggml_backend_score() == 0).
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ggml_init_params { size_t mem_size; void *mem_buffer; bool no_alloc; };
typedef struct ggml_context ctx_t;
typedef struct ggml_tensor tensor_t;
typedef struct ggml_cgraph graph_t;

static void *base, *cpu;
static void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (!p) { fprintf(stderr, "%s not found\n", name); exit(1); }
  return p;
}
#define F(lib, ret, name, ...) ret (*name)(__VA_ARGS__) = (ret (*)(__VA_ARGS__))sym(lib, #name)

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: ggml-ops-harness CPU_LIB BASE_LIB OP IN OUT N ROWS P\n"); return 1; }
  const char *op = argv[3];
  const int64_t n = atoll(argv[6]), rows = atoll(argv[7]);
  const float p = strtof(argv[8], NULL);
  base = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
  if (!base) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  cpu = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!cpu) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  int (*score)(void) = (int (*)(void))dlsym(cpu, "ggml_backend_score");
  if (score && score() == 0) return 77;
  void (*init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
  if (init) init();

  F(base, ctx_t *, ggml_init, struct ggml_init_params);
  F(base, tensor_t *, ggml_new_tensor_1d, ctx_t *, int, int64_t);
  F(base, tensor_t *, ggml_new_tensor_2d, ctx_t *, int, int64_t, int64_t);
  F(base, void *, ggml_get_data, const tensor_t *);
  F(base, graph_t *, ggml_new_graph, ctx_t *);
  F(base, void, ggml_build_forward_expand, graph_t *, tensor_t *);
  F(base, tensor_t *, ggml_norm, ctx_t *, tensor_t *, float);
  F(base, tensor_t *, ggml_mul, ctx_t *, tensor_t *, tensor_t *);
  F(base, tensor_t *, ggml_add, ctx_t *, tensor_t *, tensor_t *);
  F(base, tensor_t *, ggml_gelu, ctx_t *, tensor_t *);
  F(base, tensor_t *, ggml_gelu_erf, ctx_t *, tensor_t *);
  F(base, tensor_t *, ggml_geglu_split, ctx_t *, tensor_t *, tensor_t *);
  F(base, tensor_t *, ggml_soft_max_ext, ctx_t *, tensor_t *, tensor_t *, float, float);
  F(base, tensor_t *, ggml_scale, ctx_t *, tensor_t *, float);
  F(base, tensor_t *, ggml_tanh, ctx_t *, tensor_t *);
  F(cpu, int, ggml_graph_compute_with_ctx, ctx_t *, graph_t *, int);

  const int64_t nx = n * rows;
  int64_t extra = 0;
  if (!strcmp(op, "norm")) extra = 2 * n;
  else if (!strcmp(op, "geglu") || !strcmp(op, "soft_max")) extra = nx;
  else if (strcmp(op, "gelu") && strcmp(op, "gelu_erf") && strcmp(op, "softcap")) { fprintf(stderr, "bad op %s\n", op); return 1; }
  float *in = malloc((size_t)(nx + extra) * sizeof(float));
  FILE *f = fopen(argv[4], "rb");
  if (!f || fread(in, sizeof(float), (size_t)(nx + extra), f) != (size_t)(nx + extra)) { fprintf(stderr, "cannot read %s\n", argv[4]); return 1; }
  fclose(f);

  struct ggml_init_params ip = { (size_t)(nx + extra) * 4 * 8 + (64u << 20), NULL, false };
  ctx_t *ctx = ggml_init(ip);
  tensor_t *x = ggml_new_tensor_2d(ctx, 0 /* F32 */, n, rows);
  memcpy(ggml_get_data(x), in, (size_t)nx * 4);
  tensor_t *y;
  if (!strcmp(op, "norm")) {
    tensor_t *w = ggml_new_tensor_1d(ctx, 0, n), *b = ggml_new_tensor_1d(ctx, 0, n);
    memcpy(ggml_get_data(w), in + nx, (size_t)n * 4);
    memcpy(ggml_get_data(b), in + nx + n, (size_t)n * 4);
    y = ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, x, p), w), b);
  } else if (!strcmp(op, "gelu")) {
    y = ggml_gelu(ctx, x);
  } else if (!strcmp(op, "gelu_erf")) {
    y = ggml_gelu_erf(ctx, x);
  } else if (!strcmp(op, "softcap")) {
    y = ggml_scale(ctx, ggml_tanh(ctx, ggml_scale(ctx, x, 1.0f / p)), p);
  } else {
    tensor_t *z = ggml_new_tensor_2d(ctx, 0, n, rows);
    memcpy(ggml_get_data(z), in + nx, (size_t)nx * 4);
    y = !strcmp(op, "geglu") ? ggml_geglu_split(ctx, x, z) : ggml_soft_max_ext(ctx, x, z, p, 0.0f);
  }
  graph_t *g = ggml_new_graph(ctx);
  ggml_build_forward_expand(g, y);
  if (ggml_graph_compute_with_ctx(ctx, g, 1) != 0) { fprintf(stderr, "compute failed\n"); return 1; }
  FILE *o = fopen(argv[5], "wb");
  if (!o || fwrite(ggml_get_data(y), 4, (size_t)nx, o) != (size_t)nx || fclose(o)) { fprintf(stderr, "cannot write %s\n", argv[5]); return 1; }
  return 0;
}
