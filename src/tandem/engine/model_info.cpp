#include "tandem/engine/model_info.h"

#include <fmt/format.h>

#include <map>

#include "tandem/engine/chat_template.h"
#include "tandem/engine/model.h"

namespace tandem::engine {

Result<nlohmann::json> InspectModelFile(const std::filesystem::path& path) {
  Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open(path);
  if (!gguf) return std::unexpected(std::move(gguf.error()));
  const GgufReader& g = **gguf;
  nlohmann::json info;
  info["file"] = path.string();
  info["file_size"] = g.file_size();
  info["gguf_version"] = g.version();
  info["alignment"] = g.alignment();
  info["n_tensors"] = g.tensors().size();
  info["n_metadata"] = g.metadata().size();
  info["architecture"] = std::string(g.GetString("general.architecture").value_or(""));
  info["name"] = std::string(g.GetString("general.name").value_or(""));
  std::map<std::string, uint64_t> type_counts;
  uint64_t n_elements = 0;
  for (const GgufTensor& t : g.tensors()) {
    ++type_counts[std::string(TensorTypeName(t.type))];
    n_elements += static_cast<uint64_t>(t.n_elements);
  }
  info["tensor_types"] = type_counts;
  info["n_params"] = n_elements;
  std::optional<std::string_view> tmpl = g.GetString("tokenizer.chat_template");
  info["chat_template"] =
      tmpl ? nlohmann::json{{"present", true},
                            {"family", std::string(ChatFamilyName(DetectChatFamily(*tmpl)))},
                            {"bytes", tmpl->size()}}
           : nlohmann::json{{"present", false}};

  Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(g);
  if (vocab) {
    const Vocab& v = **vocab;
    nlohmann::json tokenizer = {
        {"model", std::string(v.model_name())},
        {"pre", std::string(v.pre_name())},
        {"type", v.type() == VocabType::kSpm ? "spm" : "bpe"},
        {"n_tokens", v.n_tokens()},
        {"add_bos", v.add_bos()},
        {"add_eos", v.add_eos()},
    };
    tokenizer["bos_id"] = v.bos() ? nlohmann::json(*v.bos()) : nlohmann::json(nullptr);
    tokenizer["eos_id"] = v.eos() ? nlohmann::json(*v.eos()) : nlohmann::json(nullptr);
    info["tokenizer"] = tokenizer;
  } else {
    info["tokenizer"] = {{"problem", vocab.error().message()}};
  }

  Result<std::unique_ptr<Model>> model = Model::FromGguf(std::move(*gguf));
  info["runnable"] = model.has_value();
  if (!model) {
    info["problem"] = model.error().message();
    return info;
  }
  const ModelParams& p = (*model)->params();
  info["params"] = {
      {"n_vocab", p.n_vocab},
      {"n_embd", p.n_embd},
      {"n_layer", p.n_layer},
      {"n_head", p.n_head},
      {"n_head_kv", p.n_head_kv},
      {"head_dim", p.head_dim},
      {"n_ff", p.n_ff},
      {"n_ctx_train", p.n_ctx_train},
      {"n_rot", p.n_rot},
      {"rope_type", p.rope_type == RopeType::kNormal ? "normal" : "neox"},
      {"rope_freq_base", p.rope_freq_base},
      {"rope_freq_scale", p.rope_freq_scale},
      {"rms_norm_eps", p.rms_norm_eps},
      {"tied_embeddings", p.tied_embeddings},
  };
  info["weight_bytes_per_token"] = (*model)->BytesPerToken();
  return info;
}

std::string FormatModelInfo(const nlohmann::json& info) {
  std::string out;
  auto line = [&](std::string_view key, const nlohmann::json& value) {
    out += fmt::format("{:<24}{}\n", std::string(key) + ":",
                       value.is_string() ? value.get<std::string>() : value.dump());
  };
  for (const char* key :
       {"file", "file_size", "gguf_version", "architecture", "name", "n_tensors", "n_params",
        "tensor_types", "runnable", "problem", "weight_bytes_per_token"}) {
    if (info.contains(key)) line(key, info[key]);
  }
  for (const char* section : {"params", "tokenizer", "chat_template"}) {
    if (!info.contains(section)) continue;
    for (const auto& [key, value] : info[section].items()) {
      line(std::string(section) + "." + key, value);
    }
  }
  return out;
}

}  // namespace tandem::engine
