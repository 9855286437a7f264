// Fuzz target: arbitrary bytes through the GGUF reader, the vocabulary loader, the model loader
// and (for files that load) a tokenization and one forward step. Built with libFuzzer when the
// compiler supports it, and driven by fuzz_driver.cpp in the regular test suite.
#include <cstddef>
#include <cstdint>
#include <span>

#include "tandem/engine/context.h"
#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/model.h"
#include "tandem/engine/vocab.h"

// How far inputs got: parsed files, loaded vocabularies, loaded models (read by the driver).
extern "C" {
size_t tandem_fuzz_reached[3] = {0, 0, 0};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tandem::engine;
  tandem::Result<std::unique_ptr<GgufReader>> gguf = GgufReader::FromBytes(std::span(data, size));
  if (!gguf) return 0;
  ++tandem_fuzz_reached[0];
  for (const GgufTensor& t : (*gguf)->tensors()) {
    // Touch the first and last byte of every tensor: must lie inside the buffer.
    if (t.n_bytes > 0) {
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.n_bytes - 1];
      (void)first;
      (void)last;
    }
  }
  tandem::Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(**gguf);
  if (vocab) {
    ++tandem_fuzz_reached[1];
    std::vector<TokenId> ids = (*vocab)->Tokenize("Hello wörld <s> 123", {.parse_special = true});
    (void)(*vocab)->Detokenize(ids);
  }
  tandem::Result<std::unique_ptr<Model>> model = Model::FromGguf(std::move(*gguf));
  if (model && (*model)->params().n_embd <= 256 && (*model)->params().n_layer <= 4 &&
      (*model)->params().n_ff <= 1024) {
    ++tandem_fuzz_reached[2];
    Context context(**model, {.n_ctx = 4, .n_threads = 1});
    std::vector<TokenId> token = {0};
    (void)context.Eval(token);
  }
  return 0;
}
