#include "data/tokenize.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "data/token_shard.h"

namespace nmoe::data {

absl::StatusOr<ShardBuildResult> TokenizeToShards(const std::vector<std::string>& inputs, TextFormat format,
                                                  const Encoder& encoder, const ShardBuildOptions& options) {
  if (options.out_prefix.empty()) return absl::InvalidArgumentError("TokenizeToShards: empty out_prefix");
  if (options.max_tokens_per_shard == 0) return absl::InvalidArgumentError("max_tokens_per_shard must be > 0");
  ShardBuildResult result;
  std::unique_ptr<TokenShardWriter> writer;
  std::string writer_path;
  auto finish = [&]() -> absl::Status {
    if (writer == nullptr) return absl::OkStatus();
    NMOE_RETURN_IF_ERROR(writer->Finish());
    result.shards.push_back(writer_path);
    writer.reset();
    return absl::OkStatus();
  };
  for (const std::string& input : inputs) {
    NMOE_ASSIGN_OR_RETURN(std::unique_ptr<DocumentReader> reader, DocumentReader::Open(input, format));
    while (true) {
      NMOE_ASSIGN_OR_RETURN(std::optional<Document> doc, reader->Next());
      if (!doc) break;
      if (writer == nullptr) {
        writer_path = absl::StrFormat("%s-%05d.tok", options.out_prefix, result.shards.size());
        NMOE_ASSIGN_OR_RETURN(writer, TokenShardWriter::Create(writer_path, options.vocab_size));
      }
      std::vector<int32_t> ids = encoder(doc->text);
      absl::Status added = writer->AddDocument(ids);
      if (!added.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(input, ":", doc->line, ": ", added.message()));
      }
      ++result.documents;
      result.tokens += ids.size();
      result.bytes_in += doc->text.size();
      for (char c : doc->text) result.chars_in += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      if (writer->num_tokens() >= options.max_tokens_per_shard) NMOE_RETURN_IF_ERROR(finish());
    }
  }
  NMOE_RETURN_IF_ERROR(finish());
  return result;
}

}  // namespace nmoe::data
