#include "trainer/perplexity.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/text_reader.h"
#include "model/autocast.h"
#include "model/loss.h"
#include "nlohmann/json.hpp"

namespace nmoe::trainer {

void UnigramCounts::Add(int32_t id) {
  if (id < 0) return;
  if (static_cast<size_t>(id) >= counts.size()) counts.resize(static_cast<size_t>(id) + 1, 0);
  ++counts[static_cast<size_t>(id)];
  ++total;
}

double UnigramCounts::Nll(int32_t id) const {
  const double c = id >= 0 && static_cast<size_t>(id) < counts.size() ? static_cast<double>(counts[static_cast<size_t>(id)]) : 0.0;
  return -std::log((c + 1.0) / (static_cast<double>(total) + static_cast<double>(counts.size())));
}

double UnigramPerplexity(const UnigramCounts& unigram, const std::vector<Batch>& batches) {
  double sum = 0;
  uint64_t n = 0;
  for (const Batch& b : batches) {
    const at::Tensor targets = b.targets_BT.contiguous();
    const int64_t* t = targets.data_ptr<int64_t>();
    for (int64_t i = 0; i < targets.numel(); ++i) {
      if (t[i] == model::kIgnoreIndex) continue;
      sum += unigram.Nll(static_cast<int32_t>(t[i]));
      ++n;
    }
  }
  return n > 0 ? std::exp(sum / static_cast<double>(n)) : 0.0;
}

std::vector<int32_t> BuildEvalStream(const std::vector<std::vector<int32_t>>& documents, std::optional<int32_t> bos,
                                     std::optional<int32_t> eos, uint64_t max_stream_tokens) {
  std::vector<int32_t> stream;
  for (const auto& doc : documents) {
    if (bos) stream.push_back(*bos);
    stream.insert(stream.end(), doc.begin(), doc.end());
    if (eos) stream.push_back(*eos);
    if (max_stream_tokens > 0 && stream.size() >= max_stream_tokens) break;
  }
  if (max_stream_tokens > 0 && stream.size() > max_stream_tokens) stream.resize(max_stream_tokens);
  return stream;
}

std::vector<Batch> EvalBatches(const std::vector<int32_t>& stream, int64_t sequence_length, int64_t batch_sequences,
                               std::optional<int32_t> bos) {
  std::vector<Batch> batches;
  if (stream.size() < 2 || sequence_length < 1) return batches;
  const uint64_t s = static_cast<uint64_t>(sequence_length);
  const uint64_t predicted = stream.size() - 1;
  const uint64_t full = predicted / s;
  const uint64_t tail = predicted % s;
  auto make = [&](uint64_t first_window, uint64_t count, uint64_t length) {
    Batch batch;
    const int64_t b = static_cast<int64_t>(count), t = static_cast<int64_t>(length);
    batch.ids_BT = at::empty({b, t}, at::kLong);
    batch.targets_BT = at::empty({b, t}, at::kLong);
    int64_t* ids = batch.ids_BT.data_ptr<int64_t>();
    int64_t* targets = batch.targets_BT.data_ptr<int64_t>();
    for (uint64_t w = 0; w < count; ++w) {
      const uint64_t begin = (first_window + w) * s;
      for (uint64_t j = 0; j < length; ++j) {
        ids[w * length + j] = stream[begin + j];
        const int32_t target = stream[begin + j + 1];
        const bool skip = bos && target == *bos;
        targets[w * length + j] = skip ? model::kIgnoreIndex : target;
        batch.predicted_tokens += skip ? 0 : 1;
      }
    }
    batches.push_back(std::move(batch));
  };
  const uint64_t per_batch = static_cast<uint64_t>(std::max<int64_t>(1, batch_sequences));
  for (uint64_t w = 0; w < full; w += per_batch) make(w, std::min(per_batch, full - w), s);
  if (tail > 0) make(full, 1, tail);
  return batches;
}

absl::StatusOr<NllSum> SumNll(model::CausalLm& model, const std::vector<Batch>& batches, bool bf16_autocast,
                              RoutingCounter* routing, const std::string& routing_group) {
  torch::NoGradGuard no_grad;
  NllSum total;
  for (const Batch& batch : batches) {
    at::Tensor logits_BTV;
    {
      model::CpuAutocast autocast(bf16_autocast);
      auto out = model.Forward(batch.ids_BT);
      if (!out.ok()) return out.status();
      logits_BTV = out->logits_BTV;
    }
    if (routing != nullptr) {
      if (absl::Status s = routing->Accumulate(routing_group); !s.ok()) return s;
    }
    try {
      const int64_t v = logits_BTV.size(-1);
      const at::Tensor sum = at::cross_entropy_loss(logits_BTV.reshape({-1, v}).to(at::kFloat),
                                                    batch.targets_BT.reshape({-1}), /*weight=*/{}, at::Reduction::Sum,
                                                    model::kIgnoreIndex);
      total.sum += sum.item<double>();
      total.count += static_cast<uint64_t>(batch.predicted_tokens);
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("perplexity: ", e.what_without_backtrace()));
    }
  }
  return total;
}

absl::StatusOr<LanguagePerplexity> EvaluateLanguage(model::CausalLm& model, const tokenizer::Tokenizer& tokenizer,
                                                    const std::string& language, const std::vector<std::string>& paths,
                                                    const PerplexityOptions& options, const UnigramCounts* unigram,
                                                    RoutingCounter* routing) {
  LanguagePerplexity result;
  result.language = language;
  const uint64_t max_stream = options.max_tokens > 0 ? options.max_tokens + 1 : 0;
  std::vector<std::vector<int32_t>> documents;
  uint64_t stream_tokens = 0;
  const auto bos = tokenizer.bos_id(), eos = tokenizer.eos_id();
  for (const std::string& path : paths) {
    auto reader = data::DocumentReader::Open(path);
    if (!reader.ok()) return reader.status();
    while (max_stream == 0 || stream_tokens < max_stream) {
      auto doc = (*reader)->Next();
      if (!doc.ok()) return doc.status();
      if (!doc->has_value()) break;
      documents.push_back(tokenizer.Encode((*doc)->text, /*add_special_tokens=*/false));
      stream_tokens += documents.back().size() + (bos ? 1 : 0) + (eos ? 1 : 0);
    }
  }
  const std::vector<int32_t> stream = BuildEvalStream(documents, bos, eos, max_stream);
  for (int32_t id : stream) {
    if (id >= model.config().vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("perplexity (", language, "): token id ", id,
                                                     " of the tokenizer is outside the model's vocabulary (",
                                                     model.config().vocab_size, ")"));
    }
  }
  const std::vector<Batch> batches = EvalBatches(stream, options.sequence_length, options.batch_sequences, bos);
  auto nll = SumNll(model, batches, options.bf16_autocast, routing, language);
  if (!nll.ok()) return nll.status();
  if (nll->count == 0) {
    return absl::InvalidArgumentError(absl::StrCat("perplexity (", language, "): no token to predict in ",
                                                   documents.size(), " documents"));
  }
  result.documents = documents.size();
  result.tokens = nll->count;
  result.nll = nll->sum / static_cast<double>(nll->count);
  result.perplexity = std::exp(result.nll);
  if (unigram != nullptr) {
    result.unigram_perplexity = UnigramPerplexity(*unigram, batches);
  } else if (options.heldout_unigram) {
    UnigramCounts own;
    own.counts.assign(static_cast<size_t>(model.config().vocab_size), 0);
    for (const Batch& b : batches) {
      const at::Tensor targets = b.targets_BT.contiguous();
      const int64_t* t = targets.data_ptr<int64_t>();
      for (int64_t i = 0; i < targets.numel(); ++i) {
        if (t[i] != model::kIgnoreIndex) own.Add(static_cast<int32_t>(t[i]));
      }
    }
    result.unigram_perplexity = UnigramPerplexity(own, batches);
  }
  return result;
}

std::string PerplexityJson(const std::vector<LanguagePerplexity>& results) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : results) {
    j[r.language] = {{"documents", r.documents}, {"tokens", r.tokens}, {"nll", r.nll}, {"perplexity", r.perplexity}};
    if (r.unigram_perplexity > 0) j[r.language]["unigram_perplexity"] = r.unigram_perplexity;
  }
  return j.dump(2) + "\n";
}

std::vector<std::string> PerplexityTable(const std::vector<LanguagePerplexity>& results) {
  std::vector<std::string> lines = {absl::StrFormat("%-8s %10s %10s %8s %11s %9s", "language", "documents",
                                                    "tokens", "nll", "perplexity", "unigram")};
  for (const auto& r : results) {
    lines.push_back(absl::StrFormat("%-8s %10d %10d %8.4f %11.3f %9s", r.language, r.documents, r.tokens, r.nll,
                                    r.perplexity,
                                    r.unigram_perplexity > 0 ? absl::StrFormat("%.1f", r.unigram_perplexity) : "-"));
  }
  return lines;
}

}  // namespace nmoe::trainer
