// Runs one of llama.cpp's selecting samplers (mirostat 1 or 2) from the reference binary's libllama over rows of
// logits, one step per row, and writes the selected token id of each step. Built with the system C compiler by
// llama-sampler.ts; the library is opened with dlopen, so nothing is linked at build time.
// usage: harness LIBLLAMA VERSION(1|2) N_VOCAB STEPS SEED TAU ETA IN.f32 OUT.i32
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { int32_t id; float logit; float p; } token_data;
typedef struct { token_data *data; size_t size; int64_t selected; bool sorted; } token_data_array;
typedef void *(*init_v1_fn)(int32_t n_vocab, uint32_t seed, float tau, float eta, int32_t m);
typedef void *(*init_v2_fn)(uint32_t seed, float tau, float eta);
typedef void (*apply_fn)(void *smpl, token_data_array *cur_p);

static void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (!p) { fprintf(stderr, "missing %s: %s\n", name, dlerror()); exit(2); }
  return p;
}

int main(int argc, char **argv) {
  if (argc != 10) { fprintf(stderr, "usage: %s LIBLLAMA VERSION N_VOCAB STEPS SEED TAU ETA IN OUT\n", argv[0]); return 2; }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
  int version = atoi(argv[2]);
  int32_t n = atoi(argv[3]);
  int steps = atoi(argv[4]);
  uint32_t seed = (uint32_t) strtoul(argv[5], NULL, 10);
  float tau = strtof(argv[6], NULL), eta = strtof(argv[7], NULL);
  float *logits = malloc(sizeof(float) * (size_t) n * steps);
  FILE *in = fopen(argv[8], "rb");
  if (!in || fread(logits, sizeof(float), (size_t) n * steps, in) != (size_t) n * steps) { fprintf(stderr, "short input\n"); return 2; }
  fclose(in);
  void *smpl = version == 1 ? ((init_v1_fn) sym(lib, "llama_sampler_init_mirostat"))(n, seed, tau, eta, 100)
                            : ((init_v2_fn) sym(lib, "llama_sampler_init_mirostat_v2"))(seed, tau, eta);
  apply_fn apply = (apply_fn) sym(lib, "llama_sampler_apply");
  token_data *data = malloc(sizeof(token_data) * (size_t) n);
  int32_t *out = malloc(sizeof(int32_t) * (size_t) steps);
  for (int s = 0; s < steps; s++) {
    for (int32_t i = 0; i < n; i++) { data[i].id = i; data[i].logit = logits[(size_t) s * n + i]; data[i].p = 0; }
    token_data_array cur = { data, (size_t) n, -1, false };
    apply(smpl, &cur);
    out[s] = cur.selected >= 0 ? cur.data[cur.selected].id : -1;
  }
  FILE *o = fopen(argv[9], "wb");
  fwrite(out, sizeof(int32_t), (size_t) steps, o);
  fclose(o);
  return 0;
}
