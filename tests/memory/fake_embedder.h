// A deterministic test Embedder: hashes each lower-cased word into one of `dimension` buckets, so
// texts sharing words get close vectors. Counts its calls.
#pragma once

#include <atomic>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "tandem/llm/chat_model.h"

namespace tandem::memory::testing {

class FakeEmbedder final : public llm::Embedder {
 public:
  explicit FakeEmbedder(std::string model = "fake-embed", int dimension = 32)
      : model_(std::move(model)), dimension_(dimension) {}

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    ++calls;
    std::vector<std::vector<float>> out;
    for (const std::string& text : texts)
      out.push_back(Vector(text));
    return out;
  }
  const std::string& model_name() const override { return model_; }

  std::vector<float> Vector(const std::string& text) const {
    std::vector<float> vector(static_cast<size_t>(dimension_), 0.0f);
    std::string word;
    auto flush = [&] {
      if (!word.empty()) vector[std::hash<std::string>()(word) % vector.size()] += 1.0f;
      word.clear();
    };
    for (char c : text) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      } else {
        flush();
      }
    }
    flush();
    vector[0] += 0.01f;  // Never all zeros.
    return vector;
  }

  std::atomic<int> calls{0};

 private:
  std::string model_;
  int dimension_;
};

}  // namespace tandem::memory::testing
