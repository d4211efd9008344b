"""The jobs that deploy_metrics (check_metrics.py) runs on its two workers, as the
YAML nmoectl takes; relative paths resolve in the workers' shared work dir. Pretrain
and allocation follow tests/trainer/train_gang_test.cc; the corpus is the committed
sample (tests/data/corpus).
"""
import os

from deploy_support import SOURCE

CORPUS = os.path.join(SOURCE, "tests", "data", "corpus")


def corpus(lang):
    return os.path.join(CORPUS, lang, "train.txt")


PRETRAIN = f"""name: base
resources: {{dtype: COMPUTE_DTYPE_FP32}}
max_restarts: 0
pretrain:
  preset: tiny
  tokenizer_vocab_size: 512
  stage:
    corpora:
      - {{language: en, paths: [{corpus("en")}]}}
      - {{language: el, paths: [{corpus("el")}]}}
    sequence_length: 32
    batch_sequences: 4
    steps: 4
    learning_rate: 3.0e-3
  output_path: runs/base
  seed: 5
"""
ALLOCATE = """name: plan
max_restarts: 0
allocate:
  strategy: ALLOCATION_STRATEGY_MANUAL
  manual_experts: [1, 3, 1, 2]
  old_languages: [en]
  new_languages: [el]
"""
# Far more steps than the check waits for: it runs while the queries are evaluated
# and is cancelled then. train_job() fills in the plan.
_TRAIN = """name: moe
resources: {{dtype: COMPUTE_DTYPE_FP32}}
max_restarts: 0
train:
  base_model: {{path: runs/base}}
  plan_id: {plan_id}
  output_path: runs/moe
  seed: 7
  stages:
    - name: experts
      trainable: TRAINABLE_EXPERTS_AND_ROUTERS
      corpora: [{{language: el, paths: [{el}]}}]
      sequence_length: 32
      batch_sequences: 2
      steps: 100000
      learning_rate: 1.0e-2
"""


def train_job(plan_id):
    return _TRAIN.format(plan_id=plan_id, el=corpus("el"))


# LAPE only (no per-sentence responses held), about one sentence per forward pass:
# many batches, so it is still collecting while the queries are evaluated. Languages
# in Latin or Greek script (the tokenizer saw en and el), enough sentences of <= 256
# tokens in each.
PROFILE_LANGUAGES = ["en", "el", "de", "es", "fr", "fi", "hu", "tr"]
PROFILE = "name: profile\nresources: {dtype: COMPUTE_DTYPE_FP32}\nmax_restarts: 0\nprofile:\n" \
    "  model: {path: runs/base}\n  corpora:\n" + \
    "".join(f"    - {{language: {l}, paths: [{corpus(l)}]}}\n" for l in PROFILE_LANGUAGES) + \
    "  criteria: [NEURON_CRITERION_LAPE]\n  sentences_per_language: 500\n  max_sentence_tokens: 256\n" \
    "  batch_tokens: 256\n  output_path: runs/profile\n  seed: 1\n"

# An allocation whose profile does not exist: fails at once (max_restarts 0).
ALLOCATE_MISSING = ("name: deploy-check\nmax_restarts: 0\nresources:\n  num_workers: 1\nallocate:\n"
                    "  profile_job_id: job-does-not-exist\n  strategy: ALLOCATION_STRATEGY_UNIFORM\n"
                    "  old_languages: [en]\n  new_languages: [el]\n  uniform_experts: 2\n")
