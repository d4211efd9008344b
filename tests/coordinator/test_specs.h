// Small valid job specs shared by the coordinator tests.
#pragma once

#include <string>

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

// A pipeline over en, es (old) and el (new) from a tiny pretrained base.
inline v1::JobSpec PipelineSpec() {
  v1::JobSpec spec;
  spec.set_name("mini");
  auto* p = spec.mutable_pipeline();
  p->mutable_pretrain()->set_preset("tiny");
  p->mutable_pretrain()->mutable_stage()->set_steps(10);
  for (const char* l : {"en", "es"}) p->add_old_languages(l);
  p->add_new_languages("el");
  for (const char* l : {"en", "es", "el"}) {
    auto* c = p->add_corpora();
    c->set_language(l);
    c->add_paths(std::string("corpus/") + l + ".train.txt");
    auto* h = p->add_heldout();
    h->set_language(l);
    h->add_paths(std::string("corpus/") + l + ".heldout.txt");
  }
  p->set_output_path("out/mini");
  p->set_seed(7);
  return spec;
}

inline v1::SubmitJobRequest SubmitRequest(const v1::JobSpec& spec, const std::string& key = "") {
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  request.set_idempotency_key(key);
  return request;
}

}  // namespace nmoe::testing
