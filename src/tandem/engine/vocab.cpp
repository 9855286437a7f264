#include "tandem/engine/vocab.h"

#include <algorithm>
#include <variant>

#include "tandem/engine/tokenizers.h"
#include "tandem/engine/unicode.h"

namespace tandem::engine {
namespace {

// True when [offset, offset + length) overlaps one of `ranges`.
bool InLiteralRange(const std::vector<std::pair<size_t, size_t>>& ranges, size_t offset,
                    size_t length) {
  for (const auto& [first, second] : ranges) {
    if (offset < second && first < offset + length) return true;
  }
  return false;
}

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string EscapeSpaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ') {
      out += kSpmSpace;
    } else {
      out += c;
    }
  }
  return out;
}

std::string UnescapeSpaces(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.substr(pos, kSpmSpace.size()) == kSpmSpace) {
      out += ' ';
      pos += kSpmSpace.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

// Parses "<0xNN>"; nullopt otherwise.
std::optional<uint8_t> ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(text[3]);
  int lo = hex(text[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

std::string MergeKey(std::string_view left, std::string_view right) {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left);
  key += '\0';
  key.append(right);
  return key;
}

// A run of text still to tokenize, or a special token already recognised.
struct RawText {
  size_t offset;
  size_t length;
};
using Fragment = std::variant<RawText, TokenId>;

}  // namespace

Result<std::unique_ptr<Vocab>> Vocab::FromGguf(const GgufReader& gguf) {
  std::unique_ptr<Vocab> vocab(new Vocab());
  if (Status s = vocab->Load(gguf); !s) {
    return std::unexpected(std::move(s.error()).WithContext("loading vocabulary"));
  }
  return vocab;
}

Status Vocab::Load(const GgufReader& gguf) {
  std::optional<std::string_view> model = gguf.GetString("tokenizer.ggml.model");
  if (!model) {
    return MakeError(ErrorCode::kInvalidArgument, "tokenizer.ggml.model is missing");
  }
  model_name_ = std::string(*model);
  if (*model == "llama") {
    type_ = VocabType::kSpm;
  } else if (*model == "gpt2") {
    type_ = VocabType::kBpe;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tokenizer.ggml.model '{}' is not supported (llama and gpt2 are)", *model);
  }
  Result<const GgufArray*> tokens = gguf.GetArray("tokenizer.ggml.tokens");
  if (!tokens) return std::unexpected(std::move(tokens.error()));
  if (*tokens == nullptr || (*tokens)->element_type != GgufType::kString ||
      (*tokens)->strings.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tokenizer.ggml.tokens is missing, empty or not an array of strings");
  }
  if ((*tokens)->strings.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return MakeError(ErrorCode::kInvalidArgument, "too many tokens");
  }
  size_t n = (*tokens)->strings.size();
  Result<const GgufArray*> scores = gguf.GetArray("tokenizer.ggml.scores");
  if (!scores) return std::unexpected(std::move(scores.error()));
  if (*scores != nullptr && (*scores)->floats.size() != n) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tokenizer.ggml.scores has {} entries for {} tokens (or is not numeric)",
                     (*scores)->size(), n);
  }
  Result<const GgufArray*> types = gguf.GetArray("tokenizer.ggml.token_type");
  if (!types) return std::unexpected(std::move(types.error()));
  if (*types != nullptr && (*types)->ints.size() != n) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tokenizer.ggml.token_type has {} entries for {} tokens (or is not integer)",
                     (*types)->size(), n);
  }
  tokens_.resize(n);
  token_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Token& token = tokens_[i];
    token.text = std::string((*tokens)->strings[i]);
    if (*scores != nullptr) token.score = static_cast<float>((*scores)->floats[i]);
    if (*types != nullptr) {
      int64_t t = (*types)->ints[i];
      if (t < 0 || t > static_cast<int64_t>(TokenType::kByte)) {
        return MakeError(ErrorCode::kInvalidArgument, "token {} has an invalid type {}", i, t);
      }
      token.type = static_cast<TokenType>(t);
    }
    token_to_id_[token.text] = static_cast<TokenId>(i);
  }

  if (type_ == VocabType::kBpe) {
    Result<const GgufArray*> merges = gguf.GetArray("tokenizer.ggml.merges");
    if (!merges) return std::unexpected(std::move(merges.error()));
    if (*merges == nullptr || (*merges)->element_type != GgufType::kString) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "tokenizer.ggml.merges is missing or not an array of strings");
    }
    merge_ranks_.reserve((*merges)->strings.size());
    for (size_t i = 0; i < (*merges)->strings.size(); ++i) {
      std::string_view merge = (*merges)->strings[i];
      size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string_view::npos;
      if (space == std::string_view::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "merge {} ('{}') has no separating space", i,
                         merge);
      }
      merge_ranks_.emplace(MergeKey(merge.substr(0, space), merge.substr(space + 1)),
                           static_cast<int32_t>(i));
    }
    std::string_view pre = gguf.GetString("tokenizer.ggml.pre").value_or("default");
    pre_name_ = std::string(pre);
    std::optional<PreTokenizerKind> kind = PreTokenizerFromName(pre);
    if (!kind) {
      return MakeError(ErrorCode::kInvalidArgument, "unknown pre-tokenizer '{}'", pre);
    }
    pre_ = *kind;
    ignore_merges_ = pre_ == PreTokenizerKind::kLlama3;
    add_space_prefix_ = false;
  } else {
    pre_name_ = std::string(gguf.GetString("tokenizer.ggml.pre").value_or("default"));
  }

  // Special ids: defaults follow each tokenizer family's convention and apply only where the
  // vocabulary is large enough to hold them.
  auto read_id = [&](std::string_view key, std::optional<TokenId> fallback,
                     std::optional<TokenId>& out) -> Status {
    Result<std::optional<uint64_t>> id = gguf.GetUint(key);
    if (!id) return std::unexpected(std::move(id.error()));
    if (!id->has_value()) {
      out = fallback && *fallback < static_cast<TokenId>(n) ? fallback : std::nullopt;
      return {};
    }
    if (**id >= n) {
      return MakeError(ErrorCode::kInvalidArgument, "{} = {} is outside the {} tokens", key, **id,
                       n);
    }
    out = static_cast<TokenId>(**id);
    return {};
  };
  bool spm = type_ == VocabType::kSpm;
  if (Status s = read_id("tokenizer.ggml.bos_token_id", spm ? 1 : 11, bos_); !s) return s;
  if (Status s = read_id("tokenizer.ggml.eos_token_id", spm ? 2 : 11, eos_); !s) return s;
  if (Status s = read_id("tokenizer.ggml.unknown_token_id",
                         spm ? std::optional<TokenId>(0) : std::nullopt, unk_);
      !s) {
    return s;
  }
  if (Status s = read_id("tokenizer.ggml.eot_token_id", std::nullopt, eot_); !s) return s;
  auto read_flag = [&](std::string_view key, bool& out) -> Status {
    Result<std::optional<bool>> flag = gguf.GetBool(key);
    if (!flag) return std::unexpected(std::move(flag.error()));
    if (flag->has_value()) out = **flag;
    return {};
  };
  add_bos_ = spm;
  add_eos_ = false;
  if (Status s = read_flag("tokenizer.ggml.add_bos_token", add_bos_); !s) return s;
  if (Status s = read_flag("tokenizer.ggml.add_eos_token", add_eos_); !s) return s;
  if (Status s = read_flag("tokenizer.ggml.add_space_prefix", add_space_prefix_); !s) return s;

  for (size_t i = 0; i < n; ++i) {
    TokenType t = tokens_[i].type;
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !tokens_[i].text.empty()) {
      special_tokens_.push_back(static_cast<TokenId>(i));
    }
  }
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                   [&](TokenId a, TokenId b) { return TokenText(a).size() > TokenText(b).size(); });
  return {};
}

std::optional<TokenId> Vocab::Find(std::string_view text) const {
  auto it = token_to_id_.find(std::string(text));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<int32_t> Vocab::MergeRank(std::string_view left, std::string_view right) const {
  auto it = merge_ranks_.find(MergeKey(left, right));
  if (it == merge_ranks_.end()) return std::nullopt;
  return it->second;
}

std::optional<TokenId> Vocab::ByteToken(uint8_t byte) const {
  if (type_ == VocabType::kSpm) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string text = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
    if (std::optional<TokenId> id = Find(text)) return id;
    return Find(std::string(1, static_cast<char>(byte)));
  }
  return Find(ByteToBpeChar(byte));
}

bool Vocab::IsEndOfGeneration(TokenId id) const {
  return (eos_ && id == *eos_) || (eot_ && id == *eot_);
}

std::vector<TokenId> Vocab::Tokenize(std::string_view text, const TokenizeOptions& options) const {
  // Cut recognised special-token text out of the raw text, longest tokens first.
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.emplace_back(RawText{0, text.size()});
  for (TokenId id : special_tokens_) {
    TokenType t = GetTokenType(id);
    if (!options.parse_special && t != TokenType::kUserDefined) continue;
    const std::string& special = TokenText(id);
    std::vector<Fragment> next;
    for (const Fragment& fragment : fragments) {
      const RawText* raw = std::get_if<RawText>(&fragment);
      if (raw == nullptr) {
        next.push_back(fragment);
        continue;
      }
      std::string_view piece = text.substr(raw->offset, raw->length);
      size_t start = 0;
      for (size_t hit = piece.find(special); hit != std::string_view::npos;
           hit = piece.find(special, hit + 1)) {
        if (hit < start) continue;
        if (t == TokenType::kControl &&
            InLiteralRange(options.literal_ranges, raw->offset + hit, special.size())) {
          continue;
        }
        if (hit > start) next.emplace_back(RawText{raw->offset + start, hit - start});
        next.emplace_back(id);
        start = hit + special.size();
      }
      if (start < piece.size()) {
        next.emplace_back(RawText{raw->offset + start, piece.size() - start});
      }
    }
    fragments = std::move(next);
  }

  std::vector<TokenId> out;
  if (options.add_special && add_bos_ && bos_) out.push_back(*bos_);
  bool after_special = true;  // SentencePiece prefixes a space at the start and after specials.
  for (const Fragment& fragment : fragments) {
    if (const TokenId* id = std::get_if<TokenId>(&fragment)) {
      out.push_back(*id);
      after_special = true;
      continue;
    }
    const RawText& raw = std::get<RawText>(fragment);
    TokenizeText(text.substr(raw.offset, raw.length), after_special, out);
    after_special = false;
  }
  if (options.add_special && add_eos_ && eos_) out.push_back(*eos_);
  return out;
}

void Vocab::TokenizeText(std::string_view text, bool after_special,
                         std::vector<TokenId>& out) const {
  if (type_ == VocabType::kSpm) {
    std::string prefixed = add_space_prefix_ && after_special ? " " : "";
    prefixed.append(text);
    internal::TokenizeSpm(*this, EscapeSpaces(prefixed), out);
    return;
  }
  std::string mapped;
  for (std::string_view word : PreTokenize(pre_, text)) {
    mapped.clear();
    for (char c : word)
      mapped += ByteToBpeChar(static_cast<uint8_t>(c));
    if (ignore_merges_) {
      if (std::optional<TokenId> id = Find(mapped)) {
        out.push_back(*id);
        continue;
      }
    }
    internal::TokenizeBpeWord(*this, mapped, out);
  }
}

std::string Vocab::TokenToPiece(TokenId id, bool render_special) const {
  if (id < 0 || id >= n_tokens()) return "";
  const Token& token = tokens_[static_cast<size_t>(id)];
  switch (token.type) {
    case TokenType::kControl:
      return render_special ? token.text : "";
    case TokenType::kUnknown:
      return type_ == VocabType::kSpm ? "\xE2\x96\x85" : token.text;
    case TokenType::kByte:
      if (std::optional<uint8_t> byte = ParseByteToken(token.text)) {
        return std::string(1, static_cast<char>(*byte));
      }
      return token.text;
    case TokenType::kUserDefined:
      return type_ == VocabType::kSpm ? UnescapeSpaces(token.text) : token.text;
    case TokenType::kUndefined:
    case TokenType::kNormal:
    case TokenType::kUnused:
      break;
  }
  if (type_ == VocabType::kSpm) return UnescapeSpaces(token.text);
  std::string bytes;
  BpeCharsToBytes(token.text, bytes);
  return bytes;
}

std::string Vocab::Detokenize(std::span<const TokenId> ids) const {
  std::string out;
  for (TokenId id : ids)
    out += TokenToPiece(id);
  return out;
}

}  // namespace tandem::engine
