// Small valid job specs shared by the coordinator tests.
#pragma once

#include "nmoe/v1/jobs_service.pb.h"

namespace nmoe::testing {

// A profile job over en/el with `workers` gang members.
inline v1::JobSpec ProfileSpec(uint32_t workers = 1, const std::string& name = "profile") {
  v1::JobSpec spec;
  spec.set_name(name);
  spec.mutable_resources()->set_num_workers(workers);
  auto* p = spec.mutable_profile();
  p->mutable_model()->set_path("models/base");
  for (const char* lang : {"en", "el"}) {
    auto* c = p->add_corpora();
    c->set_language(lang);
    c->add_paths(std::string("data/") + lang + ".txt");
  }
  return spec;
}

inline v1::SubmitJobRequest SubmitRequest(const v1::JobSpec& spec, const std::string& key = "") {
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  request.set_idempotency_key(key);
  return request;
}

}  // namespace nmoe::testing
