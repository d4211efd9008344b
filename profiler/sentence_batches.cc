#include "profiler/sentence_batches.h"

#include <ATen/ops/zeros.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "data/sentences.h"
#include "data/text_reader.h"

namespace nmoe::profiler {

absl::StatusOr<std::vector<ProfileSentence>> LoadSentences(const std::vector<LanguageCorpus>& corpora,
                                                           const tokenizer::Tokenizer& tokenizer,
                                                           const SentenceOptions& options) {
  std::vector<ProfileSentence> out;
  const data::Encoder encoder = [&tokenizer](std::string_view text) {
    return tokenizer.Encode(text, /*add_special_tokens=*/true);
  };
  for (size_t l = 0; l < corpora.size(); ++l) {
    const LanguageCorpus& corpus = corpora[l];
    std::vector<std::string> paragraphs;
    for (const std::string& path : corpus.paths) {
      auto reader = data::DocumentReader::Open(path);
      if (!reader.ok()) return absl::Status(reader.status().code(), absl::StrCat("profile (", corpus.language, "): ", reader.status().message()));
      while (true) {
        auto doc = (*reader)->Next();
        if (!doc.ok()) return absl::Status(doc.status().code(), absl::StrCat("profile (", corpus.language, "): ", doc.status().message()));
        if (!doc->has_value()) break;
        paragraphs.push_back(std::move((*doc)->text));
      }
    }
    data::SentenceSetOptions set;
    set.count = options.per_language;
    set.max_tokens = options.max_tokens;
    set.seed = options.seed;
    set.allow_fewer = options.allow_fewer;
    auto chosen = data::SelectSentences(paragraphs, corpus.language, set, &encoder);
    if (!chosen.ok()) {
      return absl::Status(chosen.status().code(), absl::StrCat("profile (", corpus.language, "): ", chosen.status().message()));
    }
    for (const std::string& text : *chosen) {
      ProfileSentence s;
      s.id = static_cast<int64_t>(out.size());
      s.language = static_cast<int32_t>(l);
      s.ids = tokenizer.Encode(text, /*add_special_tokens=*/true);
      if (s.ids.empty()) continue;
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<SentenceBatch> MakeBatches(const std::vector<ProfileSentence>& sentences, int64_t max_batch_tokens,
                                       int32_t pad_id) {
  std::map<int32_t, std::vector<const ProfileSentence*>> by_language;
  for (const ProfileSentence& s : sentences) by_language[s.language].push_back(&s);
  std::vector<SentenceBatch> batches;
  for (auto& [language, list] : by_language) {
    std::stable_sort(list.begin(), list.end(),
                     [](const ProfileSentence* a, const ProfileSentence* b) { return a->ids.size() < b->ids.size(); });
    size_t i = 0;
    while (i < list.size()) {
      // Sorted by length: the last sentence taken sets the padded length.
      size_t j = i + 1;
      while (j < list.size() && static_cast<int64_t>((j - i + 1) * list[j]->ids.size()) <= max_batch_tokens) ++j;
      const int64_t b = static_cast<int64_t>(j - i);
      const int64_t t = static_cast<int64_t>(list[j - 1]->ids.size());
      SentenceBatch batch;
      batch.language = language;
      batch.ids_BT = at::zeros({b, t}, at::kLong).fill_(pad_id);
      batch.mask_BT = at::zeros({b, t}, at::kLong);
      int64_t* ids = batch.ids_BT.data_ptr<int64_t>();
      int64_t* mask = batch.mask_BT.data_ptr<int64_t>();
      for (int64_t r = 0; r < b; ++r) {
        const ProfileSentence& s = *list[i + static_cast<size_t>(r)];
        batch.sentence_ids.push_back(s.id);
        for (size_t k = 0; k < s.ids.size(); ++k) {
          ids[r * t + static_cast<int64_t>(k)] = s.ids[k];
          mask[r * t + static_cast<int64_t>(k)] = 1;
        }
        batch.real_tokens += static_cast<int64_t>(s.ids.size());
      }
      batches.push_back(std::move(batch));
      i = j;
    }
  }
  return batches;
}

}  // namespace nmoe::profiler
