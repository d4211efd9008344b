#include "model/checkpoint.h"

#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "model/init.h"
#include "model/tensor_io.h"

namespace nmoe::model {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> DtypeName(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat:
      return std::string("float32");
    case c10::kBFloat16:
      return std::string("bfloat16");
    case c10::kHalf:
      return std::string("float16");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint: unsupported weight dtype ", c10::toString(type), " (float32, bfloat16, float16)"));
  }
}

absl::StatusOr<std::shared_ptr<CausalLm>> Build(const ModelConfig& config, const LoadModelOptions& options) {
  NMOE_RETURN_IF_ERROR(ValidateModelConfig(config));
  NMOE_RETURN_IF_ERROR(DtypeName(options.dtype).status());
  try {
    return std::make_shared<CausalLm>(config, at::TensorOptions().dtype(options.dtype).device(options.device));
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(absl::StrCat("checkpoint: cannot allocate the model (",
                                                     config.NumParameters(), " parameters): ",
                                                     e.what_without_backtrace()));
  }
}

}  // namespace

absl::StatusOr<LoadReport> LoadWeightsInto(CausalLm& model, const safetensors::Checkpoint& checkpoint,
                                           bool strict_unexpected) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& param = item.value();
    if (checkpoint.Find(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(checkpoint.source(), ": missing tensor '", name, "' (shape [",
                                                     absl::StrJoin(param.sizes(), ", "), "] expected)"));
    }
    LoadOptions load;
    load.dtype = param.scalar_type();
    load.zero_copy = true;  // a view of the mapping; copied into the parameter below
    NMOE_ASSIGN_OR_RETURN(at::Tensor value,
                          LoadTensor(checkpoint, name, std::span<const int64_t>(param.sizes().data(), param.dim()),
                                     load));
    try {
      param.copy_(value);
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat(checkpoint.source(), ": copying tensor '", name,
                                              "': ", e.what_without_backtrace()));
    }
    used.insert(name);
  }
  LoadReport report;
  for (const auto& [name, entry] : checkpoint.entries()) {
    if (!used.count(name)) report.unexpected.push_back(name);
  }
  if (!report.unexpected.empty()) {
    const std::string list = absl::StrJoin(report.unexpected, ", ");
    if (strict_unexpected) {
      return absl::InvalidArgumentError(absl::StrCat(checkpoint.source(), ": unexpected tensors: ", list));
    }
    spdlog::warn("{}: ignoring {} unexpected tensor(s): {}", checkpoint.source(), report.unexpected.size(), list);
  }
  return report;
}

absl::StatusOr<LoadedModel> LoadPretrained(const std::string& dir, const LoadModelOptions& options) {
  NMOE_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig((fs::path(dir) / "config.json").string()));
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<safetensors::Checkpoint> checkpoint, safetensors::Checkpoint::Open(dir));
  LoadedModel loaded;
  NMOE_ASSIGN_OR_RETURN(loaded.model, Build(config, options));
  NMOE_ASSIGN_OR_RETURN(loaded.report, LoadWeightsInto(*loaded.model, *checkpoint, options.strict_unexpected));
  return loaded;
}

absl::StatusOr<std::shared_ptr<CausalLm>> NewRandomModel(const ModelConfig& config, uint64_t seed,
                                                         const LoadModelOptions& options) {
  NMOE_ASSIGN_OR_RETURN(std::shared_ptr<CausalLm> model, Build(config, options));
  NMOE_RETURN_IF_ERROR(RandomInit(*model, seed));
  return model;
}

absl::Status SavePretrained(const CausalLm& model, const std::string& dir, const SaveModelOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("checkpoint: cannot create ", dir, ": ", ec.message()));
  NamedTensors tensors;
  c10::ScalarType dtype = c10::kFloat;
  try {
    torch::NoGradGuard no_grad;
    for (const auto& item : model.named_parameters(/*recurse=*/true)) {
      dtype = options.dtype.value_or(item.value().scalar_type());
      tensors.emplace_back(item.key(), item.value().detach().to(dtype));
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("checkpoint: converting weights: ", e.what_without_backtrace()));
  }
  ModelConfig config = model.config();
  NMOE_ASSIGN_OR_RETURN(config.torch_dtype, DtypeName(dtype));
  NMOE_RETURN_IF_ERROR(SaveSharded(dir, tensors, options.max_shard_bytes));
  const std::string config_path = (fs::path(dir) / "config.json").string();
  NMOE_RETURN_IF_ERROR(SaveModelConfig(config, config_path + ".tmp"));
  fs::rename(config_path + ".tmp", config_path, ec);
  if (ec) return absl::InternalError(absl::StrCat("checkpoint: cannot write ", config_path, ": ", ec.message()));
  if (options.tokenizer_json) {
    const fs::path target = fs::path(dir) / "tokenizer.json";
    if (fs::weakly_canonical(*options.tokenizer_json, ec) != fs::weakly_canonical(target, ec)) {
      fs::copy_file(*options.tokenizer_json, target, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("checkpoint: cannot copy tokenizer ", *options.tokenizer_json, ": ", ec.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace nmoe::model
